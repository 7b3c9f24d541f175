// Preloaded (--require) into the plain Node processes the benchmark forks, such as Portkey: each exits when the
// benchmark's IPC channel closes (the benchmark ended or died) and after a maximum lifetime, so none outlives a run.
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), Number(process.env.BENCH_CHILD_MAX_LIFETIME_MS ?? 600000)).unref();
