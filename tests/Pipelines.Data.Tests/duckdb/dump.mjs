// Reads a Parquet file with DuckDB and prints {columns:[{name,type,values}]} as JSON, each value in the
// canonical text form the .NET tests compare against (see DuckDbPeer.Canonical in the tests).
// usage: node dump.mjs FILE.parquet [col1,col2,...]
//        node dump.mjs --source "read_csv('f.csv', nullstr='?')"   (any table expression)
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

// The package is installed in tests/node (npm install --prefix tests/node).
const nodeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../node');
const { DuckDBInstance } = await import(pathToFileURL(createRequire(path.join(nodeDir, 'package.json')).resolve('@duckdb/node-api')).href);

const [file, cols] = process.argv.slice(2);
const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
const conn = await instance.connect();
const src = file === '--source' ? cols : `read_parquet('${file.replaceAll("'", "''")}')`;
const described = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`)).getRowObjects();
const wanted = cols && file !== '--source' ? cols.split(',') : null;
const columns = described.filter(d => !wanted || wanted.includes(d.column_name));

function expr(name, type) {
  const q = `"${name.replaceAll('"', '""')}"`;
  if (type === 'FLOAT' || type === 'DOUBLE') return `CASE WHEN isnan(${q}) THEN 'NaN' ELSE CAST(CAST(${q} AS DOUBLE) AS VARCHAR) END`;
  if (type.startsWith('TIMESTAMP')) return `CAST(epoch_ns(${q}) AS VARCHAR)`;
  if (type === 'DATE') return `CAST(${q} - DATE '1970-01-01' AS VARCHAR)`;
  if (type === 'BLOB') return `hex(${q})`;
  if (type === 'BOOLEAN') return `CASE WHEN ${q} THEN 'true' WHEN NOT ${q} THEN 'false' END`;
  if (type.startsWith('TIME')) return `CAST(epoch_ns(${q}) AS VARCHAR)`;
  return `CAST(${q} AS VARCHAR)`;
}

const out = [];
for (const c of columns) {
  const type = c.column_type;
  if (/STRUCT|\[\]|MAP|UNION/.test(type)) { out.push({ name: c.column_name, type, nested: true }); continue; }
  const reader = await conn.runAndReadAll(`SELECT ${expr(c.column_name, type)} AS v FROM ${src}`);
  out.push({ name: c.column_name, type, values: reader.getRowObjects().map(r => r.v) });
}
process.stdout.write(JSON.stringify({ columns: out }));
