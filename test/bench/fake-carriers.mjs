/**
 * Fake Twilio and Tencent endpoints on loopback for the chaos and crash runs. Each send request is
 * answered by a draw: `errorRate` of them get a 5xx, `timeoutRate` never get an answer (half of
 * those after the message was accepted, so the carrier "sends" it although the caller hears
 * nothing), the rest are accepted. Every acceptance is counted by the message's mark (`keyOf`:
 * found in Twilio's body and in Tencent's template parameters), and each accepted message gets
 * receipts: posted twice, in shuffled batches, with Twilio's intermediate `sent` status arriving
 * after its `delivered`. The consumer's lookups before a resend (queues/reconcile.ts) are answered
 * from what was accepted, always and at once (no chaos: they are reads, counted apart from the
 * sends): Twilio's Messages list by `To`, newest first, and Tencent's
 * PullSmsSendStatusByPhoneNumber with each status's `SessionContext`.
 */
import { createHmac } from "node:crypto";
import { createServer } from "node:http";

function readBody(request) {
  return new Promise((resolve) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => resolve(body));
  });
}

function twilioSignature(url, params, token) {
  const data =
    url +
    [...params.keys()]
      .sort()
      .map((key) => key + params.get(key))
      .join("");
  return createHmac("sha1", token).update(data).digest("base64");
}

/** A seeded PRNG (mulberry32), so a run's draws are reproducible. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startFakeCarriers({
  errorRate = 0.3,
  timeoutRate = 0.1,
  twilioToken,
  tencentHookUrl,
  keyOf,
  seed = 7,
}) {
  const draw = random(seed);
  const accepted = new Map(); // our message key → the carrier of each acceptance
  const stats = {
    requests: 0,
    errors: 0,
    timeoutsBefore: 0,
    timeoutsAfter: 0,
    accepted: 0,
    receipts: 0,
    lookups: 0,
  };
  const twilioListed = new Map(); // To → Twilio's Message resources, oldest first
  const tencentListed = new Map(); // E.164 → Tencent's send statuses, oldest first
  const listed = (map, key, entry) => map.set(key, [...(map.get(key) ?? []), entry]);
  const hanging = new Set();
  const tencentReceipts = [];
  let sequence = 0;

  const post = async (url, init) => {
    try {
      await fetch(url, init);
      stats.receipts += 1;
    } catch {
      // The server may be busy; a lost receipt ends the message expired, which is still final.
    }
  };

  function accept(key, carrier) {
    accepted.set(key, [...(accepted.get(key) ?? []), carrier]);
    stats.accepted += 1;
  }

  function chaos(carrier, response, key, answer) {
    stats.requests += 1;
    const roll = draw();
    if (roll < errorRate) {
      stats.errors += 1;
      response.writeHead(503, { "content-type": "application/json" });
      response.end(JSON.stringify({ code: 20503, message: "fake carrier: service unavailable" }));
      return false;
    }
    if (roll < errorRate + timeoutRate) {
      // Never answered: the caller's time-out decides. Half were accepted before going silent.
      const after = roll < errorRate + timeoutRate / 2;
      if (after) {
        stats.timeoutsAfter += 1;
        accept(key, carrier);
      } else {
        stats.timeoutsBefore += 1;
      }
      hanging.add(response);
      return after;
    }
    accept(key, carrier);
    answer();
    return true;
  }

  const server = createServer(async (request, response) => {
    const body = await readBody(request);
    const url = new URL(request.url, "http://127.0.0.1");
    if (request.method === "GET" && url.pathname.endsWith("/Messages.json")) {
      stats.lookups += 1;
      const messages = [...(twilioListed.get(url.searchParams.get("To")) ?? [])].reverse();
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ messages, page_size: messages.length }));
      return;
    }
    if (request.headers["x-tc-action"] === "PullSmsSendStatusByPhoneNumber") {
      stats.lookups += 1;
      const { PhoneNumber } = JSON.parse(body);
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          Response: {
            PullSmsSendStatusSet: tencentListed.get(PhoneNumber) ?? [],
            RequestId: `req-lookup-${stats.lookups}`,
          },
        }),
      );
      return;
    }
    if (url.pathname.endsWith("/Messages.json")) {
      const params = new URLSearchParams(body);
      const sid = `SM${String(++sequence).padStart(32, "0")}`;
      const sent = chaos("twilio", response, keyOf(params.get("Body") ?? ""), () => {
        response.writeHead(201, { "content-type": "application/json" });
        response.end(JSON.stringify({ sid, status: "queued" }));
      });
      if (sent) {
        listed(twilioListed, params.get("To"), {
          sid,
          to: params.get("To"),
          body: params.get("Body"),
          direction: "outbound-api",
          status: "queued",
          date_created: new Date().toUTCString().replace("GMT", "+0000"),
        });
        const callback = params.get("StatusCallback");
        const receipt = (status) => {
          const form = new URLSearchParams({
            MessageSid: sid,
            MessageStatus: status,
            To: params.get("To"),
          });
          return post(callback, {
            method: "POST",
            body: form.toString(),
            headers: {
              "content-type": "application/x-www-form-urlencoded",
              "x-twilio-signature": twilioSignature(callback, form, twilioToken),
            },
          });
        };
        // Out of order and twice: delivered, the earlier `sent`, then delivered again.
        setTimeout(
          async () => {
            await receipt("delivered");
            await receipt("sent");
            await receipt("delivered");
          },
          200 + Math.floor(draw() * 800),
        );
      }
      return;
    }
    if (request.headers["x-tc-action"] === "SendSms") {
      const payload = JSON.parse(body);
      const serial = `2028:${String(++sequence).padStart(20, "0")}`;
      const sent = chaos(
        "tencent",
        response,
        keyOf((payload.TemplateParamSet ?? []).join(" ")),
        () => {
          response.writeHead(200, { "content-type": "application/json" });
          response.end(
            JSON.stringify({
              Response: {
                SendStatusSet: [
                  {
                    SerialNo: serial,
                    PhoneNumber: payload.PhoneNumberSet[0],
                    Fee: 1,
                    SessionContext: payload.SessionContext,
                    Code: "Ok",
                    Message: "send success",
                    IsoCode: "CN",
                  },
                ],
                RequestId: `req-${sequence}`,
              },
            }),
          );
        },
      );
      if (sent) {
        listed(tencentListed, payload.PhoneNumberSet[0], {
          SerialNo: serial,
          PhoneNumber: payload.PhoneNumberSet[0],
          SessionContext: payload.SessionContext,
          ReportStatus: "SUCCESS",
          Description: "DELIVRD",
          UserReceiveTime: Math.floor(Date.now() / 1000),
        });
        const receipt = {
          user_receive_time: new Date().toISOString(),
          nationcode: "86",
          mobile: payload.PhoneNumberSet[0].slice(3),
          report_status: "SUCCESS",
          errmsg: "DELIVRD",
          description: "用户短信送达成功",
          sid: serial,
        };
        tencentReceipts.push(receipt, receipt);
      }
      return;
    }
    response.writeHead(404);
    response.end();
  });
  // Tencent pushes receipts in batches, shuffled, every 300 ms.
  const pusher = setInterval(() => {
    if (tencentReceipts.length === 0) {
      return;
    }
    const batch = tencentReceipts.splice(0, tencentReceipts.length).sort(() => draw() - 0.5);
    post(tencentHookUrl(), {
      method: "POST",
      body: JSON.stringify(batch),
      headers: { "content-type": "application/json" },
    });
  }, 300);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    accepted,
    stats,
    async stop() {
      clearInterval(pusher);
      for (const response of hanging) {
        response.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
