// Computes min, max and null count per column with DuckDB (from the data, not the footer).
// usage: node stats.mjs FILE.parquet col1,col2,...   -> {"col": {"min": "...", "max": "...", "nulls": "..."}}
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const nodeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../node');
const { DuckDBInstance } = await import(pathToFileURL(createRequire(path.join(nodeDir, 'package.json')).resolve('@duckdb/node-api')).href);

const [file, cols] = process.argv.slice(2);
const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
const conn = await instance.connect();
const src = `read_parquet('${file.replaceAll("'", "''")}')`;
const types = Object.fromEntries((await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`)).getRowObjects().map(r => [r.column_name, r.column_type]));
function canon(e, type) {
  if (type.startsWith('TIMESTAMP')) return `CAST(epoch_ns(${e}) AS VARCHAR)`;
  if (type === 'DATE') return `CAST(${e} - DATE '1970-01-01' AS VARCHAR)`;
  if (type === 'BOOLEAN') return `CASE WHEN ${e} THEN 'true' WHEN NOT ${e} THEN 'false' END`;
  return `CAST(${e} AS VARCHAR)`;
}
const result = {};
for (const c of cols.split(',')) {
  const q = `"${c.replaceAll('"', '""')}"`;
  const t = types[c];
  // Strings order by bytes in Parquet; DuckDB's default collation is binary too.
  const row = (await conn.runAndReadAll(
    `SELECT ${canon(`min(${q})`, t)} AS mn, ${canon(`max(${q})`, t)} AS mx, CAST(count(*) - count(${q}) AS VARCHAR) AS nulls FROM ${src}`)).getRowObjects()[0];
  result[c] = { min: row.mn, max: row.mx, nulls: row.nulls };
}
process.stdout.write(JSON.stringify(result));
