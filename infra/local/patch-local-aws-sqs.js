// Patches to local-aws-sqs 2.0.2, applied after `npm ci`. Each replaces one
// piece of the emulator's bundled code; the script is idempotent and fails
// loudly if a piece is not what it expects (e.g. after an upgrade), so a
// changed emulator is looked at, not silently left unpatched.
//
// 1. Receive counts. The emulator counts a ChangeMessageVisibility as a
//    receive: it adds one to ApproximateReceiveCount on every visibility
//    change, so each timed retry counts twice and a message is
//    dead-lettered after half the tries real SQS allows. Real SQS counts
//    receives only. Its visibility helper is called with a third argument
//    `true` from ChangeMessageVisibility and without it from ReceiveMessage;
//    the patch adds one only without it.
// 2. Persistence hooks, for sqs-server.js, which keeps queues and messages
//    in a file so they survive a restart as on SQS. The emulator keeps its
//    messages in a private field and the ends of their delays and
//    visibility timeouts only in timers: the patch lets a queue hand out
//    its messages and FIFO group counters, and notes on each message when
//    its delay and its visibility timeout end.
const fs = require("fs");
const path = require("path");
const file = path.join(__dirname, "node_modules", "local-aws-sqs", "dist", "index.js");

const patches = [
  {
    what: "ApproximateReceiveCount counts receives only, as SQS does",
    from: "let n=Number(t.record.attributes.ApproximateReceiveCount)+1;",
    to: "let n=Number(t.record.attributes.ApproximateReceiveCount)+(i?0:1);",
  },
  {
    what: "a queue hands out its messages and FIFO group counters (persistedRecords, persistedMessageGroups)",
    from: "clearRecords(){for(let t of S(this,E))clearTimeout(t.tmRetention),clearTimeout(t.tm);C(this,E,[])}",
    to: "persistedRecords(){return S(this,E)}persistedMessageGroups(){return S(this,X)}" +
      "clearRecords(){for(let t of S(this,E))clearTimeout(t.tmRetention),clearTimeout(t.tm);C(this,E,[])}",
  },
  {
    what: "a message in flight notes when it becomes visible again (visibleAt)",
    from: "t.tm.unref(),t.tmStart=Date.now()}",
    to: "t.tm.unref(),t.tmStart=Date.now(),t.visibleAt=t.tmStart+r}",
  },
  {
    what: "a delayed message notes when its delay ends (delayedUntil)",
    from: "let i={visible:!0,record:t,delayed:!0},r=(isNaN(e)?this.DelaySeconds:e)*1e3;return S(this,E).push(i)",
    to: "let i={visible:!0,record:t,delayed:!0},r=(isNaN(e)?this.DelaySeconds:e)*1e3;i.delayedUntil=Date.now()+r;return S(this,E).push(i)",
  },
];

let src = fs.readFileSync(file, "utf8");
let changed = false;
for (const p of patches) {
  if (src.split(p.to).length - 1 === 1) {
    continue;
  }
  const count = src.split(p.from).length - 1;
  if (count !== 1) {
    console.error(`patch-local-aws-sqs: expected this code once in ${file}, found it ${count} times; check the patch "${p.what}" against this version:\n  ${p.from}`);
    process.exit(1);
  }
  src = src.replace(p.from, p.to);
  changed = true;
  console.log(`patch-local-aws-sqs: ${p.what}`);
}
if (changed) {
  fs.writeFileSync(file, src);
}
