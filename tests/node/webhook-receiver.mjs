// A webhook receiver for the tests, verifying every delivery with the `standardwebhooks` package
// (the Standard Webhooks reference library, pinned by package-lock.json), as an app would.
//
// SECRET: the whsec_ secret it verifies with. MODE_FILE: a file holding how it answers now:
// `ok` (204 for a verified delivery), `fail` (500), `hang` (never answers). LOG_FILE: one JSON
// line per request: {"id", "type", "verified", "status"}. Prints `listening <port>`.
import http from "node:http";
import { appendFileSync, readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

const webhook = new Webhook(process.env.SECRET);
const mode = () => {
  try {
    return readFileSync(process.env.MODE_FILE, "utf8").trim() || "ok";
  } catch {
    return "ok";
  }
};
const log = (entry) => appendFileSync(process.env.LOG_FILE, `${JSON.stringify(entry)}\n`);

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const now = mode();
    if (now === "hang") {
      log({ id: req.headers["webhook-id"], status: "hang" });
      return; // never answers
    }
    let event = null;
    try {
      event = webhook.verify(body, req.headers);
    } catch (error) {
      log({ id: req.headers["webhook-id"], verified: false, error: String(error.message), status: 400 });
      res.writeHead(400);
      return res.end("bad signature");
    }
    if (now === "fail") {
      log({ id: req.headers["webhook-id"], type: event.type, verified: true, status: 500 });
      res.writeHead(500);
      return res.end("down for maintenance");
    }
    log({ id: req.headers["webhook-id"], type: event.type, verified: true, status: 204, data: event.data, timestamp: event.timestamp });
    res.writeHead(204);
    res.end();
  });
});
server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
