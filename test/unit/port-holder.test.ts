import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { describeTakenPort, findPortHolder, firstTakenPort } from '../../dev/port-holder';

/** Who holds a port, for the line a second `npm start` prints before refusing. */
describe('port holder', () => {
  const onLinux = existsSync('/proc/net/tcp') ? it : it.skip;

  onLinux('finds the process listening on a port, with its command line', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      expect(findPortHolder(port)).toMatchObject({ pid: process.pid, command: expect.stringContaining('jest') });
      expect(await firstTakenPort([{ host: '127.0.0.1', port, owner: 'the API', setting: 'PORT' }])).toMatch(
        new RegExp(`^port ${port} \\(the API, PORT\\) is already in use by pid ${process.pid} \\(.*jest.*\\): stop it`),
      );
    } finally {
      server.close();
    }
  });

  it('says nothing when every port is free', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    expect(await firstTakenPort([{ host: '127.0.0.1', port, owner: 'the API', setting: 'PORT' }])).toBeUndefined();
  });

  it('names the npm start a holder belongs to, or only the port when it cannot tell who holds it', () => {
    const need = { host: '0.0.0.0', port: 3000, owner: 'the API', setting: 'PORT' };
    expect(describeTakenPort(need, { pid: 12, command: 'node api/server.ts', startPid: 10 })).toBe(
      'port 3000 (the API, PORT) is already in use by pid 12 (node api/server.ts), part of another npm start ' +
        '(pid 10): stop that one first, or set PORT to a free port',
    );
    expect(describeTakenPort(need, undefined)).toBe(
      'port 3000 (the API, PORT) is already in use: stop what listens there, or set PORT to a free port',
    );
  });
});
