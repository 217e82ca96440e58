// A script, no test runner, that ends by process.exit(): in the same turn as it gets its
// connection (the agent's 50 ms batches never carry the acquisition), or with EXIT_NOW at
// once, before the agent's socket has even connected (only the exit file carries anything).
const pg = require('pg');

const pool = new pg.Pool({ connectionString: process.env.CHECK_DB_URL, max: 1 }); // POOL-LINE
if (process.env.EXIT_NOW) process.exit(0);
pool.connect().then(() => process.exit(0)); // EXIT-LINE
