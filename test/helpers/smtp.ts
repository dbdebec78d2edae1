import { createServer, type Server } from 'node:net';

// A minimal SMTP server for tests: plain text, AUTH PLAIN/LOGIN accepted and
// recorded, every message kept. Just enough for nodemailer to deliver to.

export interface Received { from: string; to: string[]; data: string; auth?: { user: string; pass: string } }
export interface SmtpServer { port: number; messages: Received[]; close(): Promise<void> }

export async function startSmtp(): Promise<SmtpServer> {
  const messages: Received[] = [];
  const server: Server = createServer((sock) => {
    let buf = '';
    let mode: 'cmd' | 'data' | 'auth-plain' | 'auth-user' | 'auth-pass' = 'cmd';
    let cur: Received = { from: '', to: [], data: '' };
    let user = '';
    const say = (s: string) => sock.write(s + '\r\n');
    say('220 localhost test ESMTP');
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      for (;;) {
        if (mode === 'data') {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          cur.data = buf.slice(0, end).replace(/^\.\./gm, '.');
          buf = buf.slice(end + 5);
          messages.push(cur);
          cur = { from: '', to: [], data: '', auth: cur.auth };
          mode = 'cmd';
          say('250 2.0.0 queued');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (mode === 'auth-plain' || (mode === 'cmd' && /^AUTH PLAIN \S+/i.test(line))) {
          const b64 = mode === 'auth-plain' ? line : line.split(' ')[2];
          const [, u, p] = Buffer.from(b64, 'base64').toString('utf8').split('\0');
          cur.auth = { user: u, pass: p };
          mode = 'cmd';
          say('235 2.7.0 Authentication successful');
          continue;
        }
        if (mode === 'auth-user') { user = Buffer.from(line, 'base64').toString('utf8'); mode = 'auth-pass'; say('334 UGFzc3dvcmQ6'); continue; }
        if (mode === 'auth-pass') { cur.auth = { user, pass: Buffer.from(line, 'base64').toString('utf8') }; mode = 'cmd'; say('235 2.7.0 Authentication successful'); continue; }
        const verb = line.split(' ')[0].toUpperCase();
        if (verb === 'EHLO') { sock.write('250-localhost\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n'); }
        else if (verb === 'HELO') say('250 localhost');
        else if (/^AUTH PLAIN$/i.test(line)) { mode = 'auth-plain'; say('334 '); }
        else if (/^AUTH LOGIN$/i.test(line)) { mode = 'auth-user'; say('334 VXNlcm5hbWU6'); }
        else if (verb === 'MAIL') { cur.from = (/<([^>]*)>/.exec(line) ?? [])[1] ?? ''; say('250 OK'); }
        else if (verb === 'RCPT') { cur.to.push((/<([^>]*)>/.exec(line) ?? [])[1] ?? ''); say('250 OK'); }
        else if (verb === 'DATA') { mode = 'data'; say('354 End data with <CR><LF>.<CR><LF>'); }
        else if (verb === 'RSET' || verb === 'NOOP') say('250 OK');
        else if (verb === 'QUIT') { say('221 Bye'); sock.end(); }
        else say('502 Command not implemented');
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as any).port, messages,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** The text of a quoted-printable body, for finding links in it. */
export const unQuotedPrintable = (s: string) => s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
