// The DurableJobs dashboard: plain JS over the HTTP API, no dependencies (the machines it runs on may have no internet).
(() => {
  'use strict';

  const POLL_MS = 2000;
  const FINISHED = ['Completed', 'TimedOut', 'Cancelled', 'Failed', 'Aborted'];
  const JOB_STATUSES = ['Succeeded', 'Failed', 'TimedOut', 'Cancelled'];
  const STATUS_COUNT = { Succeeded: 'succeeded', Failed: 'failed', TimedOut: 'timedOut', Cancelled: 'cancelled' };
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
  const exposed = window.durableJobsDashboard = { batches: null, batch: null, timeline: null, schedules: null };

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
    while (gen === generation) {
      try {
        const list = await api('/batches?top=50');
        if (gen !== generation) return;
        exposed.batches = list.items;
        drawList(list.items);
        showError(null);
        markRefreshed();
      } catch (error) {
        if (gen !== generation) return;
        showError(error.message);
      }
      await sleep(POLL_MS);
    }
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

    while (gen === generation) {
      try {
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
        showError(null);
        markRefreshed();
      } catch (error) {
        if (gen !== generation) return;
        showError(error.status === 404 ? `No batch has the id '${id}'.` : error.message);
      }
      await sleep(POLL_MS);
    }
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

  // ---- the chart: a step line of jobs in flight and the cap as a dashed line, drawn as SVG --------------------

  function drawChart(t) {
    const host = document.getElementById('chart');
    if (t.points.length === 0) {
      host.innerHTML = '<div class="empty">No finished jobs yet.</div>';
      return;
    }
    const width = Math.max(host.clientWidth || 900, 300);
    const height = 240;
    const pad = { left: 40, right: 16, top: 14, bottom: 26 };
    const series = t.points.map((p) => p.inFlight);
    const plottedMax = Math.max(...series);
    const caps = t.capSteps || [{ seconds: 0, maxParallel: t.maxParallel }];
    const top = Math.max(...caps.map((c) => c.maxParallel), plottedMax, 1) * 1.15;
    const span = Math.max(t.points[t.points.length - 1].seconds, 0.001);
    const x = (s) => pad.left + (s / span) * (width - pad.left - pad.right);
    const y = (n) => height - pad.bottom - (n / top) * (height - pad.top - pad.bottom);

    // Each point's count holds until the next point: a step path, closed to the axis for the fill.
    let d = `M${x(0)},${y(0)}`;
    t.points.forEach((p, i) => {
      d += ` V${y(p.inFlight)}`;
      const next = i + 1 < t.points.length ? t.points[i + 1].seconds : p.seconds;
      d += ` H${x(next)}`;
    });
    d += ` V${y(0)} Z`;

    // The cap is a step line too: flat unless it was changed while the batch ran.
    let capPath = '';
    caps.forEach((c, i) => {
      const sx = x(Math.min(c.seconds, span));
      capPath += i === 0 ? `M${sx},${y(c.maxParallel)}` : ` H${sx} V${y(c.maxParallel)}`;
    });
    capPath += ` H${width - pad.right}`;

    const yTicks = [...new Set([0, Math.round(top / 1.15 / 2), t.maxParallel])].filter((n) => n >= 0);
    const xTicks = [0, span / 2, span];
    host.innerHTML = `<svg id="inflight-chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img"
        aria-label="Jobs in flight over time, at most ${plottedMax}, cap ${t.maxParallel}"
        data-series="${esc(JSON.stringify(series))}" data-cap="${t.maxParallel}" data-batch-status="${esc(t.status)}" data-max-in-flight="${plottedMax}">
      ${yTicks.map((n) => `<line class="grid" x1="${pad.left}" x2="${width - pad.right}" y1="${y(n)}" y2="${y(n)}"/><text x="${pad.left - 6}" y="${y(n) + 4}" text-anchor="end">${n}</text>`).join('')}
      ${xTicks.map((s) => `<text x="${x(s)}" y="${height - 8}" text-anchor="middle">${s.toFixed(s < 10 ? 1 : 0)} s</text>`).join('')}
      <line class="axis" x1="${pad.left}" x2="${width - pad.right}" y1="${y(0)}" y2="${y(0)}"/>
      <line class="axis" x1="${pad.left}" x2="${pad.left}" y1="${pad.top}" y2="${y(0)}"/>
      <path class="series" d="${d}"/>
      <path class="cap" id="cap-line" d="${capPath}" fill="none" data-cap-steps="${esc(JSON.stringify(caps.map((c) => c.maxParallel)))}"/>
      <text class="caplabel" x="${width - pad.right}" y="${y(t.maxParallel) - 5}" text-anchor="end">cap ${t.maxParallel}</text>
    </svg>
    <div class="muted" style="font-size:12px">peak ${t.maxInFlight} of ${t.maxParallel} · ${t.jobsCounted} finished jobs · ${t.points.length} points</div>`;
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
    } else if (match) {
      renderBatch(decodeURIComponent(match[1]), gen);
    } else {
      renderList(gen);
    }
  }

  window.addEventListener('hashchange', route);
  route();
})();
