// Prints the operations of an OpenAPI/Swagger document as Prism reads them, as JSON:
// [{"method": "get", "path": "/pet/{petId}", "operationId": "getPetById", "codes": ["200", "400"],
//   "examples": ["200"], "media": ["application/json", "application/xml"]}].
// Used by drive.py to map requests to operations, to know which operations declare no success
// response (Prism then answers a valid request with the first declared error), which
// responses carry examples of their own (without `--dynamic` Prism serves the first one; a
// response without one it builds from the schema, using property examples and defaults), and
// the media types the responses offer (a server asks for JSON only when JSON is offered).
// Usage: node operations.js <dir holding @stoplight/prism-http> <spec file>
'use strict';
const path = require('path');

const [modules, spec] = process.argv.slice(2);
if (!modules || !spec) {
  console.error('usage: node operations.js <node_modules dir> <spec file>');
  process.exit(2);
}
const { getHttpOperationsFromSpec } = require(path.resolve(modules, '@stoplight', 'prism-http'));

getHttpOperationsFromSpec(spec)
  .then(operations => {
    const out = operations.map(op => ({
      method: op.method,
      path: op.path,
      operationId: op.iid,
      codes: op.responses.map(r => String(r.code)),
      examples: op.responses
        .filter(r => (r.contents || []).some(c => (c.examples || []).length > 0))
        .map(r => String(r.code)),
      media: [...new Set(op.responses.flatMap(r => (r.contents || []).map(c => c.mediaType)))].sort(),
    }));
    process.stdout.write(JSON.stringify(out) + '\n');
  })
  .catch(err => {
    console.error(`cannot read ${spec}: ${err && err.message ? err.message : err}`);
    process.exit(1);
  });
