// OGC API – Processes from the browser: execute a process, follow its job and read the
// job's results document. Every execution is a job on the server (synchronous ones too),
// owned by the caller the request carries (the page's tk= key, added by api.js).
import { ApiError } from './api.js';

const POLL_MS = 400;
const FINISHED = new Set(['successful', 'failed', 'dismissed']);

// Runs `processId` on `inputs`; `onStatus(statusInfo)` hears each job status seen
// (asynchronous runs only). Resolves to { jobId, results } (the results document: output
// id → GeoJSON FeatureCollection or value). A refusal or a failed job is an ApiError
// carrying the server's message; `signal` (an AbortSignal) stops following the job.
export async function runProcess(api, processId, inputs, { async, onStatus, signal }) {
  const path = `/processes/${encodeURIComponent(processId)}/execution`;
  if (!async) {
    const response = await api.send('POST', path, { inputs, response: 'document' });
    return { jobId: response.headers.get('X-OneMap-Job'), results: await response.json() };
  }
  const response = await api.send('POST', path, { inputs }, { Prefer: 'respond-async' });
  let status = await response.json();
  onStatus(status);
  while (!FINISHED.has(status.status)) {
    await pause(POLL_MS, signal);
    status = await api.json(`/jobs/${encodeURIComponent(status.jobID)}`, {}, { signal });
    onStatus(status);
  }
  if (status.status !== 'successful') throw new ApiError(400, status.message || status.status);
  const results = await api.json(`/jobs/${encodeURIComponent(status.jobID)}/results`, {}, { signal });
  return { jobId: status.jobID, results };
}

// The ids of the processes this server offers (the gate's view of them).
export async function processIds(api) {
  const listed = await api.json('/processes');
  return new Set((listed.processes || []).map((process) => process.id));
}

function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new DOMException('stopped', 'AbortError'));
    });
  });
}
