// DuckDB side of the Parquet benchmark, single-threaded. Prints {"seconds":…, "maxRssBytes":…}.
//   node duckdb-bench.mjs write SOURCE.parquet OUT.parquet   (loads SOURCE into memory untimed, times COPY … snappy)
//   node duckdb-bench.mjs read FILE.parquet                   (times materializing every column in memory)
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const nodeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../tests/node');
const { DuckDBInstance } = await import(pathToFileURL(createRequire(path.join(nodeDir, 'package.json')).resolve('@duckdb/node-api')).href);

const [mode, a, b] = process.argv.slice(2);
const q = s => `'${s.replaceAll("'", "''")}'`;
const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
const conn = await instance.connect();
let seconds;
if (mode === 'write') {
  await conn.run(`CREATE TABLE t AS SELECT * FROM read_parquet(${q(a)})`);
  const t0 = performance.now();
  await conn.run(`COPY t TO ${q(b)} (FORMAT PARQUET, COMPRESSION snappy)`);
  seconds = (performance.now() - t0) / 1000;
} else {
  const t0 = performance.now();
  await conn.run(`CREATE TABLE r AS SELECT * FROM read_parquet(${q(a)})`);
  seconds = (performance.now() - t0) / 1000;
}
process.stdout.write(JSON.stringify({ seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
