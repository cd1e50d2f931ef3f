// kinesalite (a Kinesis emulator) on 127.0.0.1 only: its own CLI listens on
// every interface. Streams are ACTIVE at once so tests need not wait.
// Usage: NODE_PATH=<dir>/node_modules node kinesalite.js PORT
const kinesalite = require("kinesalite");

const port = Number(process.argv[2]);
kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 50 }).listen(
  port,
  "127.0.0.1",
  () => console.log(`kinesalite listening on 127.0.0.1:${port}`),
);
