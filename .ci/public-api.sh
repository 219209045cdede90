#!/usr/bin/env bash
# Brings packages' PublicAPI files in line with their code: every RS0016 symbol (new public API) is appended to
# PublicAPI.Unshipped.txt, every RS0017 symbol (gone, or no longer public) is removed from PublicAPI.Shipped.txt; the
# symbol in the analyzer's message is the line. Review the diff: a type that is an implementation detail should be made
# internal instead. Usage: .ci/public-api.sh src/X/X.csproj... (dependencies first). A compile error such as a public
# member exposing an internal type hides the RS0016s of its project until it is fixed: fix it, then run this again.
# Nothing has shipped yet (0.2.0-preview is the first), so reviewed Unshipped lines may move into Shipped.
set -euo pipefail
added="$(mktemp)"
gone="$(mktemp)"
trap 'rm -f "$added" "$gone" "$gone.shipped"' EXIT
for arg in "$@"; do
  proj="$(realpath "$arg")"
  dir="$(dirname "$proj")"
  out="$(dotnet build "$proj" --nologo -v q 2>&1 | grep -F "[$proj]" || true)"
  { grep -F "error RS0016" <<<"$out" || true; } | sed -E "s/.*Symbol '(.*)' is not part of the declared public API.*/\1/" | sort -u > "$added"
  { grep -F "error RS0017" <<<"$out" || true; } | sed -E "s/.*Symbol '(.*)' is part of the declared API.*/\1/" | sort -u > "$gone"
  cat "$added" >> "$dir/PublicAPI.Unshipped.txt"
  if [ -s "$gone" ]; then
    grep -vxFf "$gone" "$dir/PublicAPI.Shipped.txt" > "$gone.shipped" || true
    mv "$gone.shipped" "$dir/PublicAPI.Shipped.txt"
  fi
  others="$({ grep -E " error " <<<"$out" || true; } | grep -vcE "RS001[67]" || true)"
  echo "$(basename "$proj"): $(wc -l < "$added") added, $(wc -l < "$gone") removed, $others other errors"
done
