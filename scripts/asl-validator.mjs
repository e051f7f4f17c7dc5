#!/usr/bin/env node
// Runs the npm `asl-validator` (installed by `scripts/setup.sh node` into .tools/node) on ASL
// files through its JS API — its CLI ignores --no-arn-check/--no-path-check and exits 0 on
// unparseable input. Prints one finding per line as `FILE: <code>: <message>`.
// Exit status: 0 when every file is valid, 1 when any has findings or is not JSON,
// 2 when the tool itself is missing or no file was given.
//
// Usage: node scripts/asl-validator.mjs FILE...
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, ".tools", "node", "package.json"));

let validator;
try {
  validator = require("asl-validator");
} catch (err) {
  console.error(`asl-validator is not installed (${err.message}); run: scripts/setup.sh node`);
  process.exit(2);
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/asl-validator.mjs FILE...");
  process.exit(2);
}

let failed = false;
for (const file of files) {
  let definition;
  try {
    definition = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    console.log(`${file}: unparseable: ${err.message}`);
    failed = true;
    continue;
  }
  let result;
  try {
    result = validator(definition, { checkArn: true, checkPaths: true });
  } catch (err) {
    console.log(`${file}: validator-crashed: ${err.message}`);
    failed = true;
    continue;
  }
  if (!result.isValid) {
    failed = true;
    for (const error of result.errors) {
      const code = error["Error code"] ?? "UNKNOWN";
      const message = String(error.Message ?? JSON.stringify(error)).replace(/\s+/g, " ");
      console.log(`${file}: ${code}: ${message}`);
    }
  }
}
process.exit(failed ? 1 : 0);
