// Compile the config schema with ajv in strict mode and validate config instances (JSON files
// written by tests/it/config_schema.rs). Usage: node check.js SCHEMA INSTANCE.json...
// Prints one line per file, "ok FILE" or "invalid FILE: errors", and exits 1 on any failure.
"use strict";
const fs = require("fs");
const Ajv = require("ajv");
const addFormats = require("ajv-formats");

const [schemaPath, ...instances] = process.argv.slice(2);
const ajv = new Ajv({ strict: true, allErrors: true });
addFormats(ajv);
let validate;
try {
  validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, "utf8")));
} catch (e) {
  console.log(`schema refused in strict mode: ${e.message}`);
  process.exit(1);
}
console.log("schema compiles in strict mode");
let failed = false;
for (const file of instances) {
  const ok = validate(JSON.parse(fs.readFileSync(file, "utf8")));
  if (ok) {
    console.log(`ok ${file}`);
  } else {
    failed = true;
    console.log(`invalid ${file}: ${ajv.errorsText(validate.errors)}`);
  }
}
process.exit(failed ? 1 : 0);
