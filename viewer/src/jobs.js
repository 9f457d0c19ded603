// OGC API – Processes from the browser: execute a process, follow its job and read the
// job's results document. Every execution is a job on the server (synchronous ones too),
// owned by the caller the request carries (the page's tk= key, added by api.js).

// Polls start fast (most jobs here take under a second) and slow down: each poll counts
// against a key's daily `processes` quota.
const FIRST_POLL_MS = 300;
const LAST_POLL_MS = 3000;
const FINISHED = new Set(['successful', 'failed', 'dismissed']);

// Runs `processId` on `inputs`; `onStatus(statusInfo)` hears each job status seen
// (asynchronous runs only). Resolves to { jobId, results } (the results document: output
// id → GeoJSON FeatureCollection or value). A refusal (an ApiError) or a failed job is an
// error carrying the server's message; `signal` (an AbortSignal) stops following the job.
export async function runProcess(api, processId, inputs, { async, onStatus, signal }) {
  const path = `/processes/${encodeURIComponent(processId)}/execution`;
  if (!async) {
    const response = await api.send('POST', path, { inputs, response: 'document' });
    return { jobId: response.headers.get('X-OneMap-Job'), results: await response.json() };
  }
  const response = await api.send('POST', path, { inputs }, { Prefer: 'respond-async' });
  let status = await response.json();
  onStatus(status);
  let wait = FIRST_POLL_MS;
  while (!FINISHED.has(status.status)) {
    await pause(wait, signal);
    wait = Math.min(wait * 1.5, LAST_POLL_MS);
    status = await api.json(`/jobs/${encodeURIComponent(status.jobID)}`, {}, { signal });
    onStatus(status);
  }
  if (status.status !== 'successful') throw new Error(status.message || status.status);
  const job = `/jobs/${encodeURIComponent(status.jobID)}`;
  return { jobId: status.jobID, results: await api.json(`${job}/results`, {}, { signal }) };
}

// The ids of the processes this server offers (the gate's view of them).
export async function processIds(api) {
  const listed = await api.json('/processes');
  return new Set((listed.processes || []).map((process) => process.id));
}

function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(new DOMException('stopped', 'AbortError'));
    };
    signal?.addEventListener('abort', stop, { once: true });
  });
}
