// local-aws-sqs 2.0.2 counts a ChangeMessageVisibility as a receive: it
// adds one to ApproximateReceiveCount on every visibility change, so each
// timed retry counts twice and a message is dead-lettered after half the
// tries real SQS allows. Real SQS counts receives only. This patch makes
// the emulator count receives only (its visibility helper is called with a
// third argument `true` from ChangeMessageVisibility, and without it from
// ReceiveMessage). It runs after `npm ci`, is idempotent, and fails loudly
// if the emulator's code is not what it expects (e.g. after an upgrade).
const fs = require("fs");
const path = require("path");
const file = path.join(__dirname, "node_modules", "local-aws-sqs", "dist", "index.js");
const buggy = "let n=Number(t.record.attributes.ApproximateReceiveCount)+1;";
const fixed = "let n=Number(t.record.attributes.ApproximateReceiveCount)+(i?0:1);";
const src = fs.readFileSync(file, "utf8");
if (src.includes(fixed)) {
  process.exit(0);
}
const count = src.split(buggy).length - 1;
if (count !== 1) {
  console.error(`patch-local-aws-sqs: expected the receive-count code once in ${file}, found it ${count} times; check the patch against this version`);
  process.exit(1);
}
fs.writeFileSync(file, src.replace(buggy, fixed));
console.log("patch-local-aws-sqs: ApproximateReceiveCount now counts receives only, as SQS does");
