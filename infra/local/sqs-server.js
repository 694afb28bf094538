// sqs-server.js runs local-aws-sqs on 127.0.0.1 and, given --data FILE,
// keeps its queues and messages in FILE so they survive a restart, as on
// SQS: a message the emulator answered 200 for is on disk before the answer
// leaves, so not even a SIGKILL right after loses it.
//
//   node sqs-server.js --port 9324 [--host 127.0.0.1] [--data .local/sqs.json]
//
// How: after each request, before its answer is sent, the whole state
// (queues with their attributes and tags; messages with their receive
// counts, receipt handles, and when their delays and visibility timeouts
// end) is written to FILE.tmp, fsync'd and renamed over FILE, if it
// changed. A snapshot is one consistent moment of every queue, so a
// message moved between queues is never in both or neither. Changes the
// emulator makes on its own timers (a visibility timeout ending, a move to
// the dead-letter queue, a redrive task) are written within a second, and
// a snapshot taken before them replays them at start: a message whose
// visibility timeout ended while the emulator was down is visible again
// (or dead-lettered, past maxReceiveCount) at once. Not kept: running
// message move tasks (StartMessageMoveTask) and a PurgeQueue's pending
// minute. The hooks this needs are patched into the emulator by
// patch-local-aws-sqs.js.
"use strict";
const fs = require("fs");
const http = require("http");
const path = require("path");
const { createRequestHandler } = require("local-aws-sqs");

const args = { host: "127.0.0.1", port: "", data: "" };
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i].replace(/^--/, "");
  if (!(name in args) || i + 1 >= process.argv.length) {
    console.error(`sqs-server: unknown or incomplete argument ${process.argv[i]}`);
    process.exit(2);
  }
  args[name] = process.argv[i + 1];
}
const port = Number(args.port);
if (!Number.isInteger(port) || port <= 0) {
  console.error("sqs-server: --port is required");
  process.exit(2);
}

// Queue attributes that describe the queue; the others are counts and times.
const computed = new Set([
  "QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
  "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp",
]);

function snapshot(service) {
  const queues = [];
  for (const q of service.Queues) {
    if (service.deletingQueues.has(q.QueueName)) {
      continue;
    }
    const attributes = {};
    for (const [k, v] of Object.entries(q.getAttributes(["All"]))) {
      if (!computed.has(k) && v !== undefined) {
        attributes[k] = v;
      }
    }
    queues.push({
      name: q.QueueName,
      attributes,
      tags: q.Tags,
      created: q.CreatedTimestamp,
      modified: q.LastModifiedTimestamp,
      messageGroups: q.persistedMessageGroups(),
      messages: q.persistedRecords().map((x) => ({
        record: x.record,
        visible: x.visible,
        visibleAt: x.visible ? undefined : x.visibleAt,
        delayed: x.delayed,
        delayedUntil: x.delayed ? x.delayedUntil : undefined,
      })),
    });
  }
  return JSON.stringify({ version: 1, queues });
}

function load(file) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if (err.code === "ENOENT") {
      return { version: 1, queues: [] };
    }
    throw err;
  }
  const saved = JSON.parse(text);
  if (saved.version !== 1) {
    throw new Error(`${file}: unknown version ${saved.version}`);
  }
  return saved;
}

// restore puts the saved messages back into the queues createRequestHandler
// made from the saved queues, with their timers started again from what is
// left of them.
function restore(service, saved, now) {
  for (const sq of saved.queues) {
    const q = service.Queues.find((x) => x.QueueName === sq.name);
    q.CreatedTimestamp = sq.created;
    q.LastModifiedTimestamp = sq.modified;
    Object.assign(q.persistedMessageGroups(), sq.messageGroups);
    for (const m of sq.messages) {
      const expiresAt = Number(m.record.attributes.SentTimestamp) + q.MessageRetentionPeriod * 1000;
      if (expiresAt <= now) {
        continue;
      }
      const attributes = { ...m.record.attributes };
      const x = q.newRecord(m.record, m.delayed ? Math.max(0, m.delayedUntil - now) / 1000 : 0);
      // newRecord counts retention from now; the message's own began when it was sent.
      clearTimeout(x.tmRetention);
      x.tmRetention = setTimeout(() => expire(q, x), expiresAt - now);
      x.tmRetention.unref();
      if (!m.visible) {
        // The emulator's own visibility timer, for what is left of the
        // timeout: when it ends, the message is visible again or, past
        // maxReceiveCount, moved to the dead-letter queue. Changing
        // visibility is not a receive: the saved counts stay as they were.
        x.visible = false;
        try {
          q.changeVisibility(m.record.ReceiptHandle, Math.max(0, m.visibleAt - now) / 1000);
        } catch (err) {
          console.error(`sqs-server: message ${m.record.MessageId} in ${sq.name} was in flight with no usable receipt handle; it is visible now`);
          x.visible = true;
        }
        x.record.attributes = attributes;
      }
    }
  }
}

function expire(q, x) {
  const records = q.persistedRecords();
  const i = records.indexOf(x);
  if (i !== -1) {
    clearTimeout(x.tm);
    records.splice(i, 1);
  }
}

// writeDurably replaces file with text so that, whenever the process or the
// machine stops, the file holds either the old text or the new.
function writeDurably(file, text) {
  const tmp = file + ".tmp";
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dir = fs.openSync(path.dirname(file), "r");
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

const options = { port, hostname: args.host, emulateQueueCreationLifecycle: false };
let saved = null;
if (args.data) {
  if (!fs.readFileSync(require.resolve("local-aws-sqs"), "utf8").includes("persistedRecords(){")) {
    console.error("sqs-server: local-aws-sqs lacks the persistence hooks of patch-local-aws-sqs.js: run `make deps`");
    process.exit(2);
  }
  fs.mkdirSync(path.dirname(path.resolve(args.data)), { recursive: true });
  saved = load(args.data);
  // A dead-letter queue may come after its source in the file: check the
  // redrive targets once all are back.
  options.validateDlqDestination = false;
  options.queues = saved.queues.map((q) => ({ QueueName: q.name, Attributes: q.attributes, tags: q.tags }));
}
const { service, requestHandler } = createRequestHandler(options);
service.validateDlqDestination = true;

let handler = requestHandler;
if (args.data) {
  restore(service, saved, Date.now());
  let written = null;
  const save = () => {
    const text = snapshot(service);
    if (text === written) {
      return;
    }
    try {
      writeDurably(args.data, text);
    } catch (err) {
      // The answer would promise what the disk does not hold: stop, as a
      // crash would, and let the client see the failure.
      console.error(`sqs-server: cannot write ${args.data}: ${err.message}`);
      process.exit(70);
    }
    written = text;
  };
  save();
  setInterval(save, 1000).unref();
  handler = (req, res) => {
    const end = res.end;
    res.end = function (...rest) {
      save();
      return end.apply(this, rest);
    };
    return requestHandler(req, res);
  };
}

http.createServer(handler).listen(port, args.host, () => {
  console.log(`sqs-server: local-aws-sqs on http://${args.host}:${port}` + (args.data ? `, data in ${args.data}` : ", in memory"));
});
