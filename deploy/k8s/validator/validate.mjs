// Validates a multi-document YAML stream (stdin) of Kubernetes objects, offline, in two passes:
//  1. kubernetes-models: each object through the JSON schema of its kind, generated from the
//     official Kubernetes OpenAPI spec (types, required fields, enums, int32/int64 formats).
//  2. strict: those schemas accept unknown fields (as the API server's non-strict mode does), so
//     each object is also type-checked by TypeScript against the same package's generated
//     interfaces; excess-property checking rejects any field the API does not define
//     (`replica:` for `replicas:`), at any depth, as `kubectl apply --validate=strict` would.
// Usage: node validate.mjs LABEL < rendered.yaml   (exit 1 on any problem, 2 on bad input)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "package.json"));
const YAML = require("yaml");
const ts = require("typescript");

const label = process.argv[2] ?? "stdin";
const problems = [];
const docs = [];
for (const d of YAML.parseAllDocuments(readFileSync(0, "utf8"))) {
  if (d.errors.length) {
    console.error(`${label}: YAML error: ${d.errors[0].message}`);
    process.exit(2);
  }
  const obj = d.toJS();
  if (obj !== null) docs.push(obj);
}
if (docs.length === 0) {
  console.error(`${label}: no documents`);
  process.exit(2);
}

const nameOf = (o) => `${o.kind ?? "?"}/${o.metadata?.name ?? "?"}`;
// "apps/v1" + "Deployment" -> module "kubernetes-models/apps/v1/Deployment" ("v1" is core).
const modulePath = (o) => `kubernetes-models/${o.apiVersion}/${o.kind}`;

// Pass 1: the schema validators.
const known = [];
for (const o of docs) {
  if (typeof o.apiVersion !== "string" || typeof o.kind !== "string") {
    problems.push(`${nameOf(o)}: no apiVersion/kind`);
    continue;
  }
  let Model;
  try {
    Model = require(modulePath(o))[o.kind];
  } catch {
    Model = undefined;
  }
  if (typeof Model !== "function") {
    problems.push(`${nameOf(o)}: unknown apiVersion/kind ${o.apiVersion} ${o.kind}`);
    continue;
  }
  known.push(o);
  try {
    new Model(o).validate();
  } catch (e) {
    for (const err of e.errors ?? [{ instancePath: "", message: e.message }])
      problems.push(`${nameOf(o)}: ${err.instancePath || "/"} ${err.message}` +
        (err.params?.allowedValues ? ` (${err.params.allowedValues.join(", ")})` : ""));
  }
}

// Pass 2: one TypeScript source, one typed constant per object, one property per line so a
// diagnostic's line names the field's path.
const lines = [];
const where = []; // per line: [object name, JSON path]
const emit = (text, who, at) => { lines.push(text); where.push([who, at]); };
const literal = (v, who, at, prefix, suffix) => {
  if (v !== null && typeof v === "object") {
    const arr = Array.isArray(v);
    emit(prefix + (arr ? "[" : "{"), who, at);
    const entries = arr ? v.map((x, i) => [i, x]) : Object.entries(v);
    for (const [k, x] of entries)
      literal(x, who, `${at}/${k}`, arr ? "" : `${JSON.stringify(String(k))}: `, ",");
    emit((arr ? "]" : "}") + suffix, who, at);
  } else {
    emit(prefix + JSON.stringify(v) + suffix, who, at);
  }
};
known.forEach((o, i) => {
  emit(`import type { I${o.kind} as T${i} } from ${JSON.stringify(modulePath(o))};`, nameOf(o), "");
  literal(o, nameOf(o), "", `export const doc${i}: T${i} = `, ";");
});
const file = path.join(here, "__manifests__.ts"); // virtual: never written
const options = {
  strict: true, noEmit: true, skipLibCheck: true, types: [], lib: ["lib.es2020.d.ts"],
  module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16,
};
const host = ts.createCompilerHost(options);
const source = lines.join("\n");
const readFile = host.readFile.bind(host);
const getSourceFile = host.getSourceFile.bind(host);
host.readFile = (f) => (f === file ? source : readFile(f));
host.fileExists = ((exists) => (f) => f === file || exists(f))(host.fileExists.bind(host));
host.getSourceFile = (f, v, ...rest) =>
  f === file ? ts.createSourceFile(f, source, v) : getSourceFile(f, v, ...rest);
const program = ts.createProgram([file], options, host);
const sf = program.getSourceFile(file);
const at = (node) => where[sf.getLineAndCharacterOfPosition(node.getStart(sf)).line];
// Unknown fields: every object literal's keys against its contextual type. (The compiler's
// own excess-property error names only the first such key, and none when the object has
// another error; this walk names them all.)
const checker = program.getTypeChecker();
const allows = (type, key) => {
  if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return true;
  const parts = type.isUnion() ? type.types : [type];
  return parts.some((t) => t.getProperty(key) || checker.getIndexInfosOfType(t).length ||
    t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown));
};
const visit = (node) => {
  if (ts.isObjectLiteralExpression(node)) {
    const type = checker.getContextualType(node);
    for (const p of node.properties) {
      const key = p.name && ts.isStringLiteral(p.name) ? p.name.text : undefined;
      if (type && key !== undefined && !allows(type, key)) {
        const [who, path] = at(p);
        problems.push(`${who}: ${path} (strict) unknown field "${key}" in ` +
          checker.typeToString(checker.getNonNullableType(type)));
      }
    }
  }
  ts.forEachChild(node, visit);
};
visit(sf);
// Wrong types, enums, missing required fields: the compiler's diagnostics.
for (const d of ts.getPreEmitDiagnostics(program)) {
  const msg = ts.flattenDiagnosticMessageText(d.messageText, "\n  ");
  if (d.file?.fileName !== file) {
    problems.push(`validator: ${msg}`);
    continue;
  }
  if (d.code === 2353 || d.code === 2561) continue; // excess property: named by the walk above
  const [who, path] = where[d.file.getLineAndCharacterOfPosition(d.start).line];
  problems.push(`${who}: ${path || "/"} (strict) ${msg.split("\n")[0]}`);
}

for (const p of problems) console.log(`${label}: ${p}`);
console.log(`${label}: ${docs.length} documents, ${problems.length} problems` +
  ` (kubernetes-models ${JSON.parse(readFileSync(path.join(here, "node_modules/kubernetes-models/package.json"), "utf8")).version},` +
  ` typescript ${ts.version})`);
process.exit(problems.length ? 1 : 0);
