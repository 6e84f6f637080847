// Validates an AsyncAPI document with the reference parser; prints diagnostics; exits 1 on any error.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const file = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(file, "utf8"));
const errors = diagnostics.filter((d) => d.severity === 0);
for (const d of diagnostics) {
  const where = d.path && d.path.length ? d.path.join(".") : "(document)";
  console.log(`${["error", "warning", "info", "hint"][d.severity]} ${d.code} at ${where}: ${d.message}`);
}
if (!document || errors.length) {
  console.log(`INVALID: ${errors.length} error(s)`);
  process.exit(1);
}
console.log(`VALID: ${Object.keys(document.json().channels || {}).length} channels`);
