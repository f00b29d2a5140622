/**
 * A minimal HTTP/1.1 client for the load generator: one keep-alive TCP connection per client,
 * requests written as bytes, responses read by Content-Length (or chunked). It exists because
 * the generator shares the machine's 2 cores with the server under test and PostgreSQL:
 * `fetch` cost the generator ~0.17 ms of CPU per request, this ~4× less, which is CPU the
 * system under test gets back. The server sees ordinary HTTP/1.1 either way.
 */

export interface HttpAnswer {
  status: number;
  body: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CRLFCRLF = [13, 10, 13, 10];

export class HttpConnection {
  #conn: Deno.TcpConn;
  #host: string;
  #buf = new Uint8Array(16 * 1024);
  #start = 0;
  #end = 0;

  private constructor(conn: Deno.TcpConn, host: string) {
    this.#conn = conn;
    this.#host = host;
  }

  static async open(url: string): Promise<HttpConnection> {
    const u = new URL(url);
    const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port || 80) });
    conn.setNoDelay(true);
    return new HttpConnection(conn, u.host);
  }

  /** Sends one request and reads its whole answer. */
  async request(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<HttpAnswer> {
    const payload = body === undefined ? undefined : encoder.encode(body);
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.#host}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    head += `content-length: ${payload?.length ?? 0}\r\n\r\n`;
    const headBytes = encoder.encode(head);
    const message = new Uint8Array(headBytes.length + (payload?.length ?? 0));
    message.set(headBytes);
    if (payload) message.set(payload, headBytes.length);
    for (let written = 0; written < message.length;) {
      written += await this.#conn.write(message.subarray(written));
    }
    return await this.#readAnswer();
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  async #fill(): Promise<void> {
    if (this.#start > 0 && this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.length) {
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      } else {
        const bigger = new Uint8Array(this.#buf.length * 2);
        bigger.set(this.#buf);
        this.#buf = bigger;
      }
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#end));
    if (n === null) throw new Error("connection closed by the server");
    this.#end += n;
  }

  /** Index just past the first CRLFCRLF at or after `from`, or -1. */
  #headEnd(from: number): number {
    const b = this.#buf;
    for (let i = from; i + 3 < this.#end; i++) {
      if (
        b[i] === CRLFCRLF[0] && b[i + 1] === CRLFCRLF[1] && b[i + 2] === CRLFCRLF[2] &&
        b[i + 3] === CRLFCRLF[3]
      ) return i + 4;
    }
    return -1;
  }

  async #readAnswer(): Promise<HttpAnswer> {
    let end = this.#headEnd(this.#start);
    while (end < 0) {
      await this.#fill();
      end = this.#headEnd(this.#start);
    }
    const head = decoder.decode(this.#buf.subarray(this.#start, end));
    this.#start = end;
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (length) {
      return { status, body: decoder.decode(await this.#take(Number(length[1]))) };
    }
    if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const parts: Uint8Array[] = [];
      while (true) {
        const line = await this.#line();
        const size = parseInt(line, 16);
        if (size === 0) {
          while ((await this.#line()) !== "") { /* trailers */ }
          break;
        }
        parts.push((await this.#take(size)).slice());
        await this.#take(2);
      }
      return { status, body: parts.map((p) => decoder.decode(p)).join("") };
    }
    return { status, body: "" };
  }

  async #take(n: number): Promise<Uint8Array> {
    while (this.#end - this.#start < n) await this.#fill();
    const out = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  async #line(): Promise<string> {
    while (true) {
      for (let i = this.#start; i + 1 < this.#end; i++) {
        if (this.#buf[i] === 13 && this.#buf[i + 1] === 10) {
          const line = decoder.decode(this.#buf.subarray(this.#start, i));
          this.#start = i + 2;
          return line;
        }
      }
      await this.#fill();
    }
  }
}
