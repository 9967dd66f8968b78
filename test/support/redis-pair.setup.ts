// jest setupFiles of the `e2e (2 instances on Redis)` project (jest.config.js): the
// harness reads this per test file (each file has its own sandboxed process.env).
process.env.E2E_STORE = 'redis-pair';
