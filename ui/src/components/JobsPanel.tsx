import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "../backend";
import type { Job } from "../generated/types";

const LIVE = new Set(["queued", "running"]);

/**
 * Running and finished jobs of the open project, kept current by job events. A job that finishes
 * at once (a cached generation) sends its events within a millisecond, and the list requests they
 * trigger can answer out of order: only the latest request's answer is kept, progress never turns a
 * finished job back into a running one, and while a job is live the list is also re-read now and
 * then, so a lost event cannot leave a finished job showing as running.
 */
export function JobsPanel({ project, onChange }: { project: string; onChange?: () => void }) {
  const [jobs, setJobs] = useState<Job[]>([]);
  const latest = useRef(0);
  const refresh = useCallback(() => {
    const asked = ++latest.current;
    api.listJobs({ path: project }).then((js) => {
      if (asked === latest.current) setJobs(js);
    }, () => undefined);
  }, [project]);

  useEffect(() => {
    refresh();
    let unlisten: (() => void) | undefined;
    let closed = false;
    api
      .onJobEvent((e) => {
        if (e.project !== project) return;
        if (e.event.type === "progress") {
          const { done, total, message } = e.event;
          setJobs((js) => js.map((j) => (j.id === e.job_id && LIVE.has(j.status) ? { ...j, status: "running", done, total, message } : j)));
        } else {
          refresh();
          if (e.event.type === "completed" || e.event.type === "failed" || e.event.type === "cancelled") onChange?.();
        }
      })
      .then((u) => {
        if (closed) u();
        else unlisten = u;
      });
    return () => {
      closed = true;
      unlisten?.();
    };
  }, [project, refresh, onChange]);

  const anyLive = jobs.some((j) => LIVE.has(j.status));
  useEffect(() => {
    if (!anyLive) return;
    const timer = setInterval(refresh, 3000);
    return () => clearInterval(timer);
  }, [anyLive, refresh]);

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
