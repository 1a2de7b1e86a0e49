// How big and how long each measurement is: the full run, and --quick (the CI smoke run).

export interface Settings {
  quick: boolean;
  repeats: number;
  echo: { connections: number[]; warmupMs: number; durationMs: number };
  /** `connections` matches `upstream web`'s `keepalive 16`: more would churn upstream connections in both engines. */
  http: { connections: number; warmupSeconds: number; durationSeconds: number };
  handshake: { concurrency: number; warmupMs: number; durationMs: number };
  /** `connections` is what was asked; the run may hold fewer when the fd limit can't allow it (see run.ts). */
  idle: { connections: number; holdMs: number };
  chat: { clients: number; rooms: number; rates: number[]; stepMs: number; warmupMs: number; p99LimitMs: number };
  profile: { durationMs: number };
  /** Pause between two measurements, so one's TIME_WAITs and GC don't spill into the next. */
  pauseMs: number;
}

export const fullSettings: Settings = {
  quick: false,
  repeats: 3,
  echo: { connections: [100, 1_000], warmupMs: 1_000, durationMs: 5_000 },
  http: { connections: 16, warmupSeconds: 1, durationSeconds: 5 },
  handshake: { concurrency: 50, warmupMs: 1_000, durationMs: 5_000 },
  idle: { connections: 10_000, holdMs: 3_000 },
  chat: { clients: 1_000, rooms: 20, rates: [100, 200, 400, 800, 1_600, 3_200], stepMs: 5_000, warmupMs: 2_000, p99LimitMs: 100 },
  profile: { durationMs: 10_000 },
  pauseMs: 500,
};

export const quickSettings: Settings = {
  quick: true,
  repeats: 1,
  echo: { connections: [100, 1_000], warmupMs: 300, durationMs: 1_500 },
  http: { connections: 16, warmupSeconds: 1, durationSeconds: 2 },
  handshake: { concurrency: 20, warmupMs: 300, durationMs: 1_500 },
  idle: { connections: 1_000, holdMs: 500 },
  chat: { clients: 200, rooms: 20, rates: [50, 100, 200, 400], stepMs: 1_500, warmupMs: 500, p99LimitMs: 100 },
  profile: { durationMs: 2_000 },
  pauseMs: 200,
};
