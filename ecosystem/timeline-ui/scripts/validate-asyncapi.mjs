#!/usr/bin/env node
// Validate the generated AsyncAPI document with the AsyncAPI parser: the 3.0 JSON Schema, every $ref resolving,
// and the parser's semantic rules (e.g. an operation's messages must belong to its channel), plus one rule the
// parser lacks: a reply's messages must belong to the reply's channel (AsyncAPI 3.0, Operation Reply Object).
//
//   node scripts/validate-asyncapi.mjs                   ecosystem/asyncapi/asyncapi.yaml (found from this file)
//   node scripts/validate-asyncapi.mjs path/to/doc.yaml  another file
//
// Exit 1, printing them, when there is a diagnostic of severity error; other diagnostics are printed as notes.
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';

const here = dirname(fileURLToPath(import.meta.url));
const file = process.argv[2] ? resolve(process.argv[2]) : resolve(here, '..', '..', 'asyncapi', 'asyncapi.yaml');
const name = relative(process.cwd(), file) || file;

/** The parser checks `operations.*.messages` against `operations.*.channel` but not the reply's. */
function replyMessagesFromReplyChannel(operation, _options, context) {
  const reply = operation?.reply;
  if (!reply || !Array.isArray(reply.messages)) return [];
  const channel = reply.channel?.$ref ?? operation.channel?.$ref;
  return reply.messages.flatMap((message, index) =>
    typeof message?.$ref === 'string' && !message.$ref.startsWith(`${channel}/messages/`)
      ? [{ message: `Reply message ${message.$ref} is not a message of ${channel}.`, path: [...context.path, 'reply', 'messages', index] }]
      : [],
  );
}

const parser = new Parser({
  ruleset: {
    rules: {
      'asyncapi3-reply-messages-from-referred-channel': {
        description: 'Operation reply "messages" must be a subset of the messages of the reply\'s channel.',
        message: '{{error}}',
        severity: 'error',
        resolved: false,
        given: ['$.operations.*', '$.components.operations.*'],
        then: { function: replyMessagesFromReplyChannel },
      },
    },
  },
});
const { document, diagnostics } = await parser.parse(readFileSync(file, 'utf8'), { source: file });

const label = ['error', 'warning', 'info', 'hint'];
let errors = 0;
for (const d of diagnostics) {
  const isError = d.severity === DiagnosticSeverity.Error;
  errors += isError ? 1 : 0;
  const line = d.range ? `:${d.range.start.line + 1}` : '';
  const at = d.path.length ? ` (at ${d.path.join('.')})` : '';
  (isError ? console.error : console.log)(`${name}${line}: ${label[d.severity] ?? d.severity}: ${d.code}: ${d.message}${at}`);
}
if (errors || !document) {
  console.error(`${name}: ${errors} error(s): not a valid AsyncAPI document`);
  process.exit(1);
}
console.log(`${name}: valid AsyncAPI ${document.version()} (${document.operations().length} operations)`);
