// Writes a Parquet file with DuckDB from a SELECT statement.
// usage: node write.mjs OUT.parquet CODEC "SELECT ..." [ROW_GROUP_SIZE] [EXTRA COPY OPTIONS, e.g. "PARQUET_VERSION V2"]
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const nodeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../node');
const { DuckDBInstance } = await import(pathToFileURL(createRequire(path.join(nodeDir, 'package.json')).resolve('@duckdb/node-api')).href);

const [out, codec, sql, rowGroupSize, extra] = process.argv.slice(2);
const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
const conn = await instance.connect();
const rg = (rowGroupSize ? `, ROW_GROUP_SIZE ${Number(rowGroupSize)}` : '') + (extra ? `, ${extra}` : '');
await conn.run(`COPY (${sql}) TO '${out.replaceAll("'", "''")}' (FORMAT PARQUET, COMPRESSION ${codec}${rg})`);
