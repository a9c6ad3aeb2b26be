/* eslint-disable */
// Runs one of this package's servers: from the TypeScript sources inside the monorepo (through
// Backstage's node transform), from dist/ when installed as a package.
const path = require('node:path');
const fs = require('node:fs');

module.exports = function load(entry) {
  const src = path.resolve(__dirname, '../src/index.ts');
  let lib;
  if (fs.existsSync(src)) {
    require('@backstage/cli/config/nodeTransform.cjs');
    lib = require(src);
  } else {
    lib = require('../dist/index.cjs.js');
  }
  Promise.resolve(lib[entry](process.argv.slice(2))).catch(error => {
    process.stderr.write(`${entry}: ${error?.stack ?? error}\n`);
    process.exit(2);
  });
};
