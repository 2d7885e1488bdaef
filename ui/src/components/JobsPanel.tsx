import { useCallback, useEffect, useState } from "react";
import { api } from "../backend";
import type { Job } from "../generated/types";

const LIVE = new Set(["queued", "running"]);

/** Running and finished jobs of the open project, kept current by job events. */
export function JobsPanel({ project, onChange }: { project: string; onChange?: () => void }) {
  const [jobs, setJobs] = useState<Job[]>([]);
  const refresh = useCallback(() => {
    api.listJobs({ path: project }).then(setJobs, () => undefined);
  }, [project]);

  useEffect(() => {
    refresh();
    let unlisten: (() => void) | undefined;
    api
      .onJobEvent((e) => {
        if (e.project !== project) return;
        if (e.event.type === "progress") {
          const { done, total, message } = e.event;
          setJobs((js) => js.map((j) => (j.id === e.job_id ? { ...j, status: "running", done, total, message } : j)));
        } else {
          refresh();
          if (e.event.type === "completed" || e.event.type === "failed" || e.event.type === "cancelled") onChange?.();
        }
      })
      .then((u) => (unlisten = u));
    return () => unlisten?.();
  }, [project, refresh, onChange]);

  return (
    <aside className="jobs" data-testid="jobs-panel" aria-label="Jobs">
      <h3>Jobs</h3>
      {jobs.length === 0 && <p className="muted">Imports, generation and training show up here.</p>}
      <ul>
        {jobs.map((j) => {
          const pct = j.total > 0 ? Math.round((100 * j.done) / j.total) : LIVE.has(j.status) ? undefined : 100;
          return (
            <li key={j.id} className={`job job-${j.status}`} data-testid="job" data-status={j.status}>
              <div className="job-title">
                <span>{j.title}</span>
                <span className="badge">{j.status}</span>
              </div>
              <progress max={100} value={pct} />
              <div className="job-detail muted">{j.error ?? j.message}</div>
              {LIVE.has(j.status) && (
                <button className="secondary small" onClick={() => api.cancelJob({ project, job_id: j.id }).then(refresh)}>
                  Cancel
                </button>
              )}
            </li>
          );
        })}
      </ul>
    </aside>
  );
}
