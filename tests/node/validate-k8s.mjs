// Validates Kubernetes objects against the API's OpenAPI schemas (kubernetes-models) and KEDA's CRD schemas
// (@kubernetes-models/keda): types, formats, enums and required fields, offline.
// Input (stdin): a JSON array of objects. Output: one line per problem, "INDEX KIND/NAME: PATH MESSAGE";
// "ok N" when every object is valid. Exit code 1 when any object is invalid or of a kind no schema covers.
import { readFileSync } from "node:fs";

const objects = JSON.parse(readFileSync(0, "utf8"));

// apiVersion "v1" -> kubernetes-models/v1; "apps/v1" -> kubernetes-models/apps/v1; "keda.sh/v1alpha1" -> the KEDA package.
function modulePath(apiVersion, kind) {
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
  const root = group.endsWith("keda.sh") ? "@kubernetes-models/keda" : "kubernetes-models";
  return `${root}/${apiVersion}/${kind}`;
}

let problems = 0;
for (const [index, object] of objects.entries()) {
  const { apiVersion, kind } = object;
  const name = `${kind}/${object?.metadata?.name ?? "?"}`;
  let Model;
  try {
    Model = (await import(modulePath(apiVersion, kind)))[kind];
  } catch {
    Model = undefined;
  }
  if (typeof Model !== "function") {
    console.log(`${index} ${name}: no schema for ${apiVersion} ${kind}`);
    problems++;
    continue;
  }
  try {
    new Model(object).validate();
  } catch (e) {
    problems++;
    const errors = e.errors ?? [{ instancePath: "", message: e.message }];
    for (const err of errors) console.log(`${index} ${name}: ${err.instancePath || "/"} ${err.message}`);
  }
}
if (problems === 0) console.log(`ok ${objects.length}`);
process.exit(problems === 0 ? 0 : 1);
