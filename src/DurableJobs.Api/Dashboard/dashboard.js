// The DurableJobs dashboard: plain JS over the HTTP API, no dependencies (the machines it runs on may have no internet).
(() => {
  'use strict';

  const POLL_MS = 2000;
  const FINISHED = ['Completed', 'TimedOut', 'Cancelled', 'Failed', 'Aborted'];
  const JOB_STATUSES = ['Running', 'Succeeded', 'Failed', 'TimedOut', 'Cancelled'];
  const STATUS_COUNT = { Running: 'running', Succeeded: 'succeeded', Failed: 'failed', TimedOut: 'timedOut', Cancelled: 'cancelled' };
  // The API key, when the host requires one, arrives in the page URL (?code=) as Azure Functions takes it. It is kept
  // for this tab only and taken out of the address bar at once, so it stays off the screen, the history and bookmarks.
  const KEY_ITEM = 'durableJobs.apiKey';
  const apiKey = (() => {
    const params = new URLSearchParams(location.search);
    const fromUrl = params.get('code');
    if (fromUrl === null) {
      try { return sessionStorage.getItem(KEY_ITEM); } catch { return null; }
    }
    params.delete('code');
    const rest = params.toString();
    history.replaceState(history.state, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
    try { sessionStorage.setItem(KEY_ITEM, fromUrl); } catch { /* storage disabled: the key lasts as long as this page */ }
    return fromUrl;
  })();
  const view = document.getElementById('view');
  const errorBox = document.getElementById('error');
  const refreshLabel = document.getElementById('refresh');

  // What the browser tests (and a curious user in the console) can read: the last data each view drew.
  const exposed = window.durableJobsDashboard = { batches: null, batch: null, timeline: null, schedules: null, limits: null, limitTimelines: null };

  // Bumped on every navigation, so a poll loop of a page the user left stops instead of drawing over the new one.
  let generation = 0;

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(path, init) {
    const headers = { Accept: 'application/json' };
    if (apiKey) headers['x-functions-key'] = apiKey;
    // State changes carry a JSON body: the API refuses anything else, which is what keeps cross-site forms out.
    if (init && init.body !== undefined) headers['Content-Type'] = 'application/json';
    // Relative to the page, so the dashboard also works under a path prefix.
    const response = await fetch('api' + path, Object.assign({ cache: 'no-store' }, init || {}, { headers }));
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = null; }
    if (!response.ok) {
      if (response.status === 401) {
        throw new ApiError(401, 'This host requires an API key: open the dashboard as /?code=YOUR_KEY.');
      }
      const message = body && (body.detail || body.title) ? `${body.title || ''} ${body.detail || ''}`.trim() : `HTTP ${response.status}`;
      throw new ApiError(response.status, message);
    }
    return body;
  }

  const esc = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const enc = encodeURIComponent;
  const done = (b) => b.succeeded + b.failed + b.timedOut + b.cancelled;
  const isFinished = (b) => FINISHED.includes(b.status);
  const percent = (b) => (b.total > 0 ? Math.floor((done(b) * 100) / b.total) : (isFinished(b) ? 100 : 0));
  const time = (iso) => (iso ? new Date(iso).toLocaleString() : '');

  function showError(message) {
    errorBox.textContent = message || '';
    errorBox.hidden = !message;
  }

  function markRefreshed() {
    refreshLabel.textContent = 'updated ' + new Date().toLocaleTimeString();
  }

  // Refreshes a page every POLL_MS until the user leaves it (its generation changes): an error shows until a round
  // succeeds. A refresh returns early when the generation changed under one of its awaits.
  async function poll(gen, refresh, errorText = (error) => error.message) {
    while (gen === generation) {
      try {
        await refresh();
        if (gen !== generation) return;
        showError(null);
        markRefreshed();
      } catch (error) {
        if (gen !== generation) return;
        showError(errorText(error));
      }
      await sleep(POLL_MS);
    }
  }

  function progressBar(b) {
    const part = (n) => (b.total > 0 ? (n * 100) / b.total : 0);
    return `<div class="progress">
      <div class="bar" title="${done(b)} of ${b.total} jobs finished">
        <span class="s" style="width:${part(b.succeeded)}%"></span><span class="f" style="width:${part(b.failed)}%"></span><span class="t" style="width:${part(b.timedOut)}%"></span><span class="c" style="width:${part(b.cancelled)}%"></span><span class="r" style="width:${part(b.running)}%"></span>
      </div>
      <span class="pct" data-role="percent">${percent(b)} %</span>
    </div>`;
  }

  const badge = (status) => `<span class="badge ${esc(status)}" data-role="status">${esc(status)}</span>`;

  // ---- batches list -------------------------------------------------------------------------------------------

  async function renderList(gen) {
    view.dataset.view = 'list';
    view.innerHTML = `<h1>Batches <span class="muted" id="batch-count"></span></h1>
      <div class="panel"><table id="batches">
        <thead><tr><th>Batch</th><th>Status</th><th>Progress</th><th class="num">Jobs</th><th class="num">Cap</th><th>Created</th></tr></thead>
        <tbody><tr><td colspan="6" class="empty">Loading…</td></tr></tbody>
      </table></div>`;
    await poll(gen, async () => {
      const list = await api('/batches?top=50');
      if (gen !== generation) return;
      exposed.batches = list.items;
      drawList(list.items);
    });
  }

  function drawList(items) {
    document.getElementById('batch-count').textContent = `(${items.length})`;
    const body = document.querySelector('#batches tbody');
    body.innerHTML = items.length === 0
      ? '<tr><td colspan="6" class="empty">No batches yet. Submit one: <span class="mono">durablejobs submit samples/quick.json</span> or POST /api/batches.</td></tr>'
      : items.map((b) => `<tr data-batch-id="${esc(b.id)}" data-status="${esc(b.status)}">
          <td class="mono"><a href="#/batches/${enc(b.id)}">${esc(b.id)}</a></td>
          <td>${badge(b.status)}</td>
          <td>${progressBar(b)}</td>
          <td class="num">${done(b)} / ${b.total}</td>
          <td class="num">${b.maxParallel}</td>
          <td class="muted">${esc(time(b.createdAt))}</td>
        </tr>`).join('');
  }

  // ---- one batch ----------------------------------------------------------------------------------------------

  async function renderBatch(id, gen) {
    view.dataset.view = 'batch';
    view.innerHTML = `<p><a href="#/">← All batches</a></p>
      <h1><span class="mono" id="batch-id">${esc(id)}</span> <span id="batch-status"></span>
        <span style="flex:1"></span>
        <label class="muted" style="font-size:13px">cap <input id="cap-value" type="number" min="1" style="width:4.5em"></label>
        <button id="set-cap" disabled>Set cap</button>
        <button id="pause" disabled>Pause</button>
        <button id="rerun" disabled title="Start a new batch of the jobs that failed or timed out">Re-run failed</button>
        <button id="cancel" class="danger" disabled>Cancel batch</button>
        <button id="delete" class="danger" hidden title="Delete the batch, its re-runs and everything stored for them">Delete</button></h1>
      <section class="panel"><div id="batch-progress"></div><div class="counts" id="counts" style="margin-top:12px"></div>
        <p class="muted" id="batch-meta" style="margin:10px 0 0"></p></section>
      <section class="panel chart"><h2>Jobs in flight over time</h2><div id="chart"><div class="empty">No finished jobs yet.</div></div>
        <div class="legend"><span><i></i>jobs in flight (finished jobs)</span><span><i class="cap"></i>cap (maxParallel)</span></div></section>
      <section class="panel"><div class="toolbar"><h2 style="margin:0">Jobs</h2><span class="spacer"></span>
        <label>Status <select id="job-status"><option value="">All</option>${JOB_STATUSES.map((s) => `<option>${s}</option>`).join('')}</select></label></div>
        <table id="jobs"><thead><tr><th>Job</th><th>Type</th><th>Status</th><th class="num">Attempts</th><th class="num">Duration</th><th>Worker</th><th>Error</th></tr></thead>
        <tbody><tr><td colspan="7" class="empty">Loading…</td></tr></tbody></table>
        <p><button id="more" hidden>Load more</button></p></section>`;

    const jobs = { status: '', token: null, pagesLoaded: 0, stale: true };
    let lastTimelineAt = 0;
    let finalTimelineDrawn = false;
    let finalJobsDrawn = false;
    let cancelRequested = false;

    const select = document.getElementById('job-status');
    select.addEventListener('change', () => { jobs.status = select.value; jobs.stale = true; loadJobs(id, jobs, false, gen); });
    document.getElementById('more').addEventListener('click', () => loadJobs(id, jobs, true, gen));
    document.getElementById('cancel').addEventListener('click', async () => {
      if (!confirm(`Cancel batch ${id}? Running jobs are told to stop and nothing new starts.`)) return;
      cancelRequested = true;
      document.getElementById('cancel').disabled = true;
      try {
        await api(`/batches/${enc(id)}/cancel`, { method: 'POST', body: JSON.stringify({ reason: 'Cancelled from the dashboard.' }) });
        document.getElementById('cancel').textContent = 'Cancelling…';
      } catch (error) {
        showError(error.message);
      }
    });

    document.getElementById('delete').addEventListener('click', async () => {
      if (!confirm(`Delete batch ${id}, its re-runs and all their results? This cannot be undone.`)) return;
      document.getElementById('delete').disabled = true;
      try {
        await api(`/batches/${enc(id)}`, { method: 'DELETE' });
        location.hash = '#/';
      } catch (error) {
        document.getElementById('delete').disabled = false;
        showError(error.message);
      }
    });

    // Pause and resume share a button: what it does follows the batch's status at the last poll.
    document.getElementById('pause').addEventListener('click', async () => {
      const button = document.getElementById('pause');
      const action = button.dataset.action;
      button.disabled = true;
      try {
        await api(`/batches/${enc(id)}/${action}`, { method: 'POST', body: JSON.stringify({ reason: `${action} from the dashboard.` }) });
        button.textContent = action === 'pause' ? 'Pausing…' : 'Resuming…';
      } catch (error) {
        showError(error.message);
      }
    });
    document.getElementById('set-cap').addEventListener('click', async () => {
      const value = Number(document.getElementById('cap-value').value);
      try {
        await api(`/batches/${enc(id)}`, { method: 'PATCH', body: JSON.stringify({ maxParallel: value }) });
        showError(null);
      } catch (error) {
        showError(error.message);
      }
    });
    document.getElementById('rerun').addEventListener('click', async () => {
      if (!confirm(`Start a new batch of the jobs of ${id} that failed or timed out?`)) return;
      document.getElementById('rerun').disabled = true;
      try {
        const accepted = await api(`/batches/${enc(id)}/rerun`, { method: 'POST', body: '{}' });
        location.hash = `#/batches/${enc(accepted.id)}`;
      } catch (error) {
        showError(error.message);
      }
    });

    await poll(gen, async () => {
      const batch = await api(`/batches/${enc(id)}`);
      if (gen !== generation) return;
      exposed.batch = batch;
      drawBatch(batch, cancelRequested);
      const finished = isFinished(batch);
      // Reading every result is work for the server on big batches, so the chart refreshes less often than the counts.
      const every = batch.total > 10000 ? 15000 : 3000;
      if ((!finished && Date.now() - lastTimelineAt >= every) || (finished && !finalTimelineDrawn)) {
        lastTimelineAt = Date.now();
        const timeline = await api(`/batches/${enc(id)}/timeline?points=200`);
        if (gen !== generation) return;
        exposed.timeline = timeline;
        drawChart(timeline);
        finalTimelineDrawn = finished;
      }
      // The first page follows the batch while it runs; pages the user asked for stay put.
      if (jobs.pagesLoaded <= 1 && (!finished || !finalJobsDrawn)) {
        await loadJobs(id, jobs, false, gen);
        finalJobsDrawn = finished;
      }
    }, (error) => (error.status === 404 ? `No batch has the id '${id}'.` : error.message));
  }

  function drawBatch(b, cancelRequested) {
    const status = document.getElementById('batch-status');
    status.innerHTML = badge(b.status);
    status.dataset.status = b.status;
    document.getElementById('batch-progress').innerHTML = progressBar(b);
    document.getElementById('counts').innerHTML = [
      ['Total', b.total], ['Succeeded', b.succeeded], ['Failed', b.failed], ['TimedOut', b.timedOut],
      ['Cancelled', b.cancelled], ['Running', b.running], ['Pending', b.pending],
    ].map(([label, n]) => `<div class="count ${label}" data-count="${label}"><div class="n">${n}</div><div class="l">${label === 'TimedOut' ? 'Timed out' : label}</div></div>`).join('');
    const meta = [`cap ${b.maxParallel} in flight`, `created ${time(b.createdAt)}`];
    if (b.completedAt) meta.push(`finished ${time(b.completedAt)}`);
    if (b.failure) meta.push(`failure: ${b.failure}`);
    if (b.reason) meta.push(b.reason);
    if (b.reruns) meta.push(`re-runs: ${b.reruns.join(', ')}`);
    if (b.hooks) meta.push(`hooks: ${b.hooks.map(h => `${h.kind} ${h.state}${h.attempts > 1 ? ` (${h.attempts} attempts)` : ''}${h.state === 'Delivered' ? '' : h.detail ? `: ${h.detail}` : ''}`).join(', ')}`);
    document.getElementById('batch-meta').textContent = meta.join(' · ');
    const cancel = document.getElementById('cancel');
    cancel.disabled = isFinished(b) || cancelRequested;
    if (isFinished(b)) cancel.textContent = 'Cancel batch';
    // Only a finished batch can be deleted (the API answers 409 otherwise).
    document.getElementById('delete').hidden = !isFinished(b);
    const pause = document.getElementById('pause');
    const action = b.status === 'Paused' ? 'resume' : 'pause';
    if (pause.dataset.action !== action) {
      pause.dataset.action = action;
      pause.textContent = action === 'pause' ? 'Pause' : 'Resume';
      pause.disabled = false;
    }
    pause.disabled = pause.disabled || isFinished(b) || cancelRequested;
    const capInput = document.getElementById('cap-value');
    if (document.activeElement !== capInput) capInput.value = b.maxParallel;
    capInput.disabled = isFinished(b);
    document.getElementById('set-cap').disabled = isFinished(b);
    // Only a finished batch with a job that failed or timed out has anything to re-run.
    document.getElementById('rerun').disabled = !isFinished(b) || b.failed + b.timedOut === 0;
  }

  async function loadJobs(id, jobs, more, gen) {
    const statusAsked = jobs.status;
    let token = more ? jobs.token : null;
    let items = [];
    // With a status filter a page covers a bounded stretch of the batch, so it can come back empty with a token:
    // follow a few tokens until something shows; "Load more" carries on from there. A status the batch's counts
    // say no job has is not looked for at all (this runs on every poll).
    const counted = exposed.batch && exposed.batch.id === id ? exposed.batch[STATUS_COUNT[jobs.status]] : undefined;
    for (let request = 0; request < 20 && counted !== 0; request++) {
      const query = new URLSearchParams({ top: '100' });
      if (jobs.status) query.set('status', jobs.status);
      if (token) query.set('continuationToken', token);
      let page;
      try {
        page = await api(`/batches/${enc(id)}/jobs?${query}`);
      } catch (error) {
        showError(error.message);
        return;
      }
      // A newer filter or another page may have replaced this request meanwhile.
      if (gen !== generation || statusAsked !== jobs.status) return;
      items = items.concat(page.items);
      token = page.continuationToken;
      if (items.length > 0 || !token) break;
    }
    const body = document.querySelector('#jobs tbody');
    const rows = items.map((j) => {
      if (j.status === 'Running') return runningRow(j);
      const ms = j.startedAt && j.finishedAt ? new Date(j.finishedAt) - new Date(j.startedAt) : null;
      return `<tr data-job-id="${esc(j.id)}" data-status="${esc(j.status)}">
        <td class="mono">${esc(j.id)}</td><td>${esc(j.type)}</td><td>${badge(j.status)}</td>
        <td class="num">${j.attempts}</td><td class="num">${ms === null ? '' : (ms / 1000).toFixed(2) + ' s'}</td>
        <td class="muted mono">${esc(j.worker)}</td><td class="error-text" title="${esc(j.error && j.error.message)}">${esc(j.error && j.error.message)}</td></tr>`;
    }).join('');
    if (more) {
      body.insertAdjacentHTML('beforeend', rows);
      jobs.pagesLoaded++;
    } else {
      body.innerHTML = rows || '<tr><td colspan="7" class="empty">No finished jobs' + (jobs.status ? ' with this status' : '') + ' yet.</td></tr>';
      jobs.pagesLoaded = 1;
    }
    jobs.token = token;
    document.getElementById('more').hidden = !token;
  }

  // A running job (status filter Running): how long it has run, and its last progress report in place of an error.
  function runningRow(j) {
    const p = j.progress || {};
    const ms = j.startedAt ? Date.now() - new Date(j.startedAt) : null;
    const value = typeof p.value === 'number' ? p.value : null;
    const reported = p.reportedAt ? `reported ${new Date(p.reportedAt).toLocaleTimeString()}` : '';
    return `<tr data-job-id="${esc(j.id)}" data-status="Running">
      <td class="mono">${esc(j.id)}</td><td>${esc(j.type)}</td><td>${badge('Running')}</td>
      <td class="num">${j.attempts}</td><td class="num">${ms === null ? '' : (ms / 1000).toFixed(1) + ' s'}</td>
      <td class="muted mono">${esc(j.worker)}</td>
      <td data-role="progress" data-value="${value === null ? '' : value}" title="${esc(reported)}">${value === null ? '' : `<progress max="100" value="${Math.max(0, Math.min(100, value))}"></progress> ${esc(value.toFixed(0))} `}${esc(p.message)}</td></tr>`;
  }

  // ---- the chart: a filled step series with step lines over it (the cap; a limit's effective value and maximum), as SVG

  // Draws into `host` the series `points` ([{seconds, value}], each value holding until the next point) and `lines`
  // ([{cls, id, label, labelAt, steps: [{seconds, value}], attrs}]). `attrs` are the svg's data attributes.
  function stepChart(host, { id, cls, points, lines, aria, attrs, footer }) {
    const width = Math.max(host.clientWidth || 900, 300);
    const height = 240;
    const pad = { left: 40, right: 16, top: 14, bottom: 26 };
    const plottedMax = Math.max(...points.map((p) => p.value));
    const top = Math.max(...lines.flatMap((l) => l.steps.map((c) => c.value)), plottedMax, 1) * 1.15;
    const span = Math.max(points[points.length - 1].seconds, 0.001);
    const x = (s) => pad.left + (s / span) * (width - pad.left - pad.right);
    const y = (n) => height - pad.bottom - (n / top) * (height - pad.top - pad.bottom);

    // Each point's value holds until the next point: a step path, closed to the axis for the fill.
    let d = `M${x(0)},${y(0)}`;
    points.forEach((p, i) => {
      d += ` V${y(p.value)}`;
      const next = i + 1 < points.length ? points[i + 1].seconds : p.seconds;
      d += ` H${x(next)}`;
    });
    d += ` V${y(0)} Z`;

    // A line is a step line too: flat unless its value changed.
    const linePath = (steps) => {
      let path = '';
      steps.forEach((c, i) => {
        const sx = x(Math.min(c.seconds, span));
        path += i === 0 ? `M${sx},${y(c.value)}` : ` H${sx} V${y(c.value)}`;
      });
      return path + ` H${width - pad.right}`;
    };
    const dataAttrs = (a) => Object.entries(a || {}).map(([k, v]) => ` ${k}="${esc(v)}"`).join('');

    const yTicks = [...new Set([0, Math.round(top / 1.15 / 2), ...lines.map((l) => l.labelAt)])].filter((n) => n >= 0);
    const xTicks = [0, span / 2, span];
    host.innerHTML = `<svg${id ? ` id="${esc(id)}"` : ''}${cls ? ` class="${esc(cls)}"` : ''} xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img"
        aria-label="${esc(aria)}"${dataAttrs(attrs)}>
      ${yTicks.map((n) => `<line class="grid" x1="${pad.left}" x2="${width - pad.right}" y1="${y(n)}" y2="${y(n)}"/><text x="${pad.left - 6}" y="${y(n) + 4}" text-anchor="end">${n}</text>`).join('')}
      ${xTicks.map((s) => `<text x="${x(s)}" y="${height - 8}" text-anchor="middle">${s.toFixed(s < 10 ? 1 : 0)} s</text>`).join('')}
      <line class="axis" x1="${pad.left}" x2="${width - pad.right}" y1="${y(0)}" y2="${y(0)}"/>
      <line class="axis" x1="${pad.left}" x2="${pad.left}" y1="${pad.top}" y2="${y(0)}"/>
      <path class="series" d="${d}"/>
      ${lines.map((l) => `<path class="${esc(l.cls)}"${l.id ? ` id="${esc(l.id)}"` : ''} d="${linePath(l.steps)}" fill="none"${dataAttrs(l.attrs)}/>`).join('')}
      ${lines.filter((l) => l.label).map((l) => `<text class="${esc(l.cls)}label" x="${width - pad.right}" y="${y(l.labelAt) - 5}" text-anchor="end">${esc(l.label)}</text>`).join('')}
    </svg>
    <div class="muted" style="font-size:12px">${esc(footer)}</div>`;
  }

  function drawChart(t) {
    const host = document.getElementById('chart');
    if (t.points.length === 0) {
      host.innerHTML = '<div class="empty">No finished jobs yet.</div>';
      return;
    }
    const series = t.points.map((p) => p.inFlight);
    const plottedMax = Math.max(...series);
    const caps = t.capSteps || [{ seconds: 0, maxParallel: t.maxParallel }];
    stepChart(host, {
      id: 'inflight-chart',
      points: t.points.map((p) => ({ seconds: p.seconds, value: p.inFlight })),
      lines: [{
        cls: 'cap', id: 'cap-line', label: `cap ${t.maxParallel}`, labelAt: t.maxParallel,
        steps: caps.map((c) => ({ seconds: c.seconds, value: c.maxParallel })),
        attrs: { 'data-cap-steps': JSON.stringify(caps.map((c) => c.maxParallel)) },
      }],
      aria: `Jobs in flight over time, at most ${plottedMax}, cap ${t.maxParallel}`,
      attrs: { 'data-series': JSON.stringify(series), 'data-cap': t.maxParallel, 'data-batch-status': t.status, 'data-max-in-flight': plottedMax },
      footer: `peak ${t.maxInFlight} of ${t.maxParallel} · ${t.jobsCounted} finished jobs · ${t.points.length} points`,
    });
  }

  // ---- limits -------------------------------------------------------------------------------------------------

  // Each limit's chart is a request per refresh: at most this many limits get one.
  const LIMIT_CHARTS = 20;

  async function renderLimits(gen) {
    view.dataset.view = 'limits';
    view.innerHTML = `<h1>Limits <span class="muted" id="limit-count"></span></h1>
      <div class="panel"><table id="limits">
        <thead><tr><th>Limit</th><th class="num">Max</th><th class="num">Effective</th><th class="num">In use</th><th class="num">Waiting workers</th><th class="num">Waiting batches</th><th class="num">Rate /s</th><th class="num">Burst</th><th>Leases by worker</th></tr></thead>
        <tbody><tr><td colspan="9" class="empty">Loading…</td></tr></tbody>
      </table></div>
      <div id="limit-charts"></div>`;
    exposed.limitTimelines = {};
    await poll(gen, async () => {
      const list = await api('/limits');
      if (gen !== generation) return;
      exposed.limits = list.items;
      drawLimits(list.items);
      // The host samples every limit once a second while someone asks; each chart shows its last 10 minutes.
      const charted = list.items.slice(0, LIMIT_CHARTS);
      const timelines = await Promise.all(charted.map((l) => api(`/limits/${enc(l.name)}/timeline`).catch(() => null)));
      if (gen !== generation) return;
      charted.forEach((l, i) => { if (timelines[i]) { exposed.limitTimelines[l.name] = timelines[i]; drawLimitChart(l, timelines[i]); } });
    });
  }

  const orDash = (n) => (n === null || n === undefined ? '-' : esc(n));

  function drawLimits(items) {
    document.getElementById('limit-count').textContent = `(${items.length})`;
    const body = document.querySelector('#limits tbody');
    body.innerHTML = items.length === 0
      ? '<tr><td colspan="9" class="empty">No limits yet. Declare one: <span class="mono">durablejobs limits set payments --max 20</span> or PUT /api/limits/{name}.</td></tr>'
      : items.map((l) => `<tr data-limit="${esc(l.name)}">
          <td class="mono">${esc(l.name)}</td>
          <td class="num" data-role="max">${orDash(l.maxConcurrent)}</td>
          <td class="num" data-role="effective">${orDash(l.effective)}</td>
          <td class="num" data-role="in-use">${orDash(l.inUse)}</td>
          <td class="num" data-role="waiting-workers">${orDash(l.waitingWorkers)}</td>
          <td class="num" data-role="waiting-batches">${orDash(l.waitingBatches)}</td>
          <td class="num">${orDash(l.ratePerSecond)}</td>
          <td class="num">${orDash(l.burst)}</td>
          <td class="mono muted" data-role="leases">${(l.leases || []).map((x) => `${esc(x.worker)}=${x.permits}${x.want > 0 ? ` (+${x.want} wanted)` : ''}`).join(', ') || '-'}</td>
        </tr>`).join('');
    // One chart panel per limit, made once and kept (a redraw replaces only its content).
    const charts = document.getElementById('limit-charts');
    items.slice(0, LIMIT_CHARTS).forEach((l) => {
      if (charts.querySelector(`section[data-limit="${CSS.escape(l.name)}"]`)) return;
      charts.insertAdjacentHTML('beforeend', `<section class="panel chart" data-limit="${esc(l.name)}"><h2>${esc(l.name)}: permits in use over time</h2>
        <div data-role="chart"><div class="empty">No samples yet.</div></div>
        <div class="legend"><span><i></i>in use (leased permits)</span><span><i class="effective"></i>effective</span><span><i class="cap"></i>configured maximum</span></div></section>`);
    });
  }

  // Consecutive samples with the same value are one step.
  function stepsOf(points, pick) {
    const steps = [];
    points.forEach((p) => {
      const value = pick(p);
      if (value === null || value === undefined) return;
      if (steps.length === 0 || steps[steps.length - 1].value !== value) steps.push({ seconds: p.seconds, value });
    });
    return steps;
  }

  function drawLimitChart(limit, t) {
    const section = document.querySelector(`#limit-charts section[data-limit="${CSS.escape(limit.name)}"]`);
    if (!section) return;
    const host = section.querySelector('[data-role=chart]');
    if (t.points.length === 0) {
      host.innerHTML = '<div class="empty">No samples yet.</div>';
      return;
    }
    const series = t.points.map((p) => p.inUse);
    const max = stepsOf(t.points, (p) => p.maxConcurrent);
    const effective = stepsOf(t.points, (p) => p.effective);
    const last = t.points[t.points.length - 1];
    const lines = [];
    // The effective value is labelled only where it differs from the maximum (the labels would overlap).
    if (effective.length > 0) lines.push({ cls: 'effective', label: last.effective !== last.maxConcurrent ? `effective ${last.effective}` : '', labelAt: last.effective ?? 0, steps: effective, attrs: { 'data-steps': JSON.stringify(effective.map((s) => s.value)) } });
    if (max.length > 0) lines.push({ cls: 'cap', label: `max ${last.maxConcurrent}`, labelAt: last.maxConcurrent ?? 0, steps: max, attrs: { 'data-steps': JSON.stringify(max.map((s) => s.value)) } });
    const peak = Math.max(...series);
    stepChart(host, {
      cls: 'limit-chart',
      points: t.points.map((p) => ({ seconds: p.seconds, value: p.inUse })),
      lines,
      aria: `Permits of ${limit.name} in use over time, at most ${peak}`,
      attrs: { 'data-limit': limit.name, 'data-series': JSON.stringify(series), 'data-max': last.maxConcurrent ?? '', 'data-effective': last.effective ?? '', 'data-peak': peak },
      footer: `peak ${peak}${last.maxConcurrent ? ` of ${last.maxConcurrent}` : ''} over the last ${Math.round(last.seconds)} s · sampled every ${t.intervalSeconds} s · ${t.points.length} points · waiting now: ${last.waitingWorkers} workers, ${last.waitingBatches} batches`,
    });
  }

  // ---- schedules ----------------------------------------------------------------------------------------------

  // Each schedule's own view carries its runs' outcomes (the list does not): at most this many are read per refresh.
  const SCHEDULE_DETAILS = 20;

  async function renderSchedules(gen) {
    view.dataset.view = 'schedules';
    view.innerHTML = `<h1>Schedules <span class="muted" id="schedule-count"></span></h1>
      <div class="panel"><table id="schedules">
        <thead><tr><th>Schedule</th><th>Cron</th><th>State</th><th>Next occurrences</th><th>Last runs</th><th></th></tr></thead>
        <tbody><tr><td colspan="6" class="empty">Loading…</td></tr></tbody>
      </table></div>`;
    let wake = null;
    view.querySelector('#schedules').addEventListener('click', async (event) => {
      const button = event.target.closest('button[data-action]');
      if (!button) return;
      button.disabled = true;
      try {
        await api(`/schedules/${enc(button.dataset.name)}/${button.dataset.action}`, { method: 'POST', body: '{}' });
        showError(null);
      } catch (error) {
        showError(error.message);
      }
      if (wake) wake();
    });
    while (gen === generation) {
      try {
        const list = await api('/schedules');
        const detailed = await Promise.all(list.items.map((s, i) => (i < SCHEDULE_DETAILS
          ? api('/schedules/' + enc(s.name)).catch(() => s)
          : Promise.resolve(s))));
        if (gen !== generation) return;
        exposed.schedules = detailed;
        drawSchedules(detailed);
        showError(null);
        markRefreshed();
      } catch (error) {
        if (gen !== generation) return;
        showError(error.message);
      }
      // A click refreshes at once; otherwise every POLL_MS.
      await new Promise((resolve) => { wake = resolve; setTimeout(resolve, POLL_MS); });
      wake = null;
    }
  }

  function drawSchedules(items) {
    document.getElementById('schedule-count').textContent = `(${items.length})`;
    const body = document.querySelector('#schedules tbody');
    body.innerHTML = items.length === 0
      ? '<tr><td colspan="6" class="empty">No schedules yet. Create one: <span class="mono">durablejobs schedule set nightly --cron "0 2 * * *" --template samples/quick.json</span> or PUT /api/schedules/{name}.</td></tr>'
      : items.map((s) => `<tr data-schedule="${esc(s.name)}" data-paused="${s.paused}">
          <td class="mono">${esc(s.name)}</td>
          <td class="mono">${esc(s.definition.cron)} <span class="muted">${esc(s.definition.timeZone || 'UTC')}</span></td>
          <td data-role="state">${s.paused ? 'paused' : 'active'}</td>
          <td class="muted" data-role="next">${(s.nextOccurrences || []).slice(0, 3).map((n) => esc(time(n))).join('<br>') || '-'}</td>
          <td><div class="runs">${(s.runs || []).slice(0, 5).map((r) => `<span data-role="run" data-trigger="${esc(r.trigger)}" data-outcome="${esc(r.outcome || r.disposition)}" title="${esc(time(r.occurrence))} ${esc(r.trigger)} ${esc(r.detail || '')}">${r.batchId && r.disposition === 'Started'
            ? `<a href="#/batches/${enc(r.batchId)}">${badge(r.outcome || r.disposition)}</a>`
            : badge(r.disposition)}</span>`).join('') || '<span class="muted">none yet</span>'}</div></td>
          <td class="actions">
            <button data-action="${s.paused ? 'resume' : 'pause'}" data-name="${esc(s.name)}">${s.paused ? 'Resume' : 'Pause'}</button>
            <button data-action="trigger" data-name="${esc(s.name)}">Trigger now</button>
          </td>
        </tr>`).join('');
  }

  // ---- routing ------------------------------------------------------------------------------------------------

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function route() {
    const gen = ++generation;
    showError(null);
    const match = /^#\/batches\/([^/]+)$/.exec(location.hash);
    if (location.hash === '#/schedules') {
      renderSchedules(gen);
    } else if (location.hash === '#/limits') {
      renderLimits(gen);
    } else if (match) {
      renderBatch(decodeURIComponent(match[1]), gen);
    } else {
      renderList(gen);
    }
  }

  window.addEventListener('hashchange', route);
  route();
})();
