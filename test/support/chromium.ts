import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';

/**
 * The headless Chromium of the browser tests, driven by playwright-core (Playwright's own browser
 * download cannot reach its CDN from our machines). The browser is `CHROMIUM_PATH` when set (your
 * own Chromium or Chrome), else the chrome-headless-shell that the npm package @sparticuz/chromium
 * carries: unpacked once per package version to ~/.cache/shopflow/chromium/<version>/ (a few
 * seconds, no download), with the package's own copies of libnss3, libnspr4 and libexpat, so a machine needs
 * no system browser and none of those libraries.
 */

const run = promisify(execFile);

// As root Chromium needs --no-sandbox; without the networking flags it keeps calling home. Not the
// package's `args`: they are for AWS Lambda, where --single-process crashes the browser once a
// context closes and --disable-web-security would hide the CORS and CSP errors the tests look for.
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

export interface LaunchedChromium {
  context: BrowserContext;
  /** The context's first page. */
  page: Page;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** A headless Chromium with a fresh profile (a persistent context in a temporary directory). */
export async function launchChromium(options: BrowserContextOptions = {}): Promise<LaunchedChromium> {
  const browser = await (found ??= findChromium());
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'shopflow-chromium-profile-'));
  const removeProfile = () => rmSync(userDataDir, { recursive: true, force: true });
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      ...options,
      executablePath: browser.path,
      headless: true,
      args: chromiumArgs,
      env: browser.env,
    });
  } catch (error) {
    removeProfile();
    const message = `Chromium from ${browser.source} did not start (set CHROMIUM_PATH to use another)`;
    throw new Error(`${message}: ${String(error)}`, { cause: error });
  }
  const close = async () => {
    await context.close();
    removeProfile();
  };
  try {
    return { context, page: context.pages()[0] ?? (await context.newPage()), close };
  } catch (error) {
    await close();
    throw error;
  }
}

interface Browser {
  path: string;
  /** Where it comes from, for messages. */
  source: string;
  /** The browser's environment when it differs from the test's. */
  env?: NodeJS.ProcessEnv;
}

/** One look-up per test file. */
let found: Promise<Browser> | undefined;

async function findChromium(): Promise<Browser> {
  const own = process.env['CHROMIUM_PATH'];
  if (own) {
    if (!existsSync(own)) throw new Error(`CHROMIUM_PATH is ${own}, which does not exist`);
    return { path: own, source: `CHROMIUM_PATH (${own})` };
  }
  return packagedChromium();
}

async function packagedChromium(): Promise<Browser> {
  // The CommonJS entry, build/cjs/index.cjs: the package's exports map hides its package.json.
  const entry = require.resolve('@sparticuz/chromium');
  const packageJson = path.resolve(path.dirname(entry), '..', '..', 'package.json');
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  const cacheRoot = process.env['XDG_CACHE_HOME'] ?? path.join(homedir(), '.cache');
  const dir = path.join(cacheRoot, 'shopflow', 'chromium', version);
  const source = `@sparticuz/chromium ${version} (${dir})`;
  const binary = path.join(dir, 'chromium');
  if (!existsSync(binary)) await unpack(entry, dir);
  return { path: binary, source, env: await libraryEnv(binary, path.join(dir, 'al2023', 'lib'), source) };
}

/**
 * Runs the package's `executablePath()` in a child process whose os.tmpdir() is an empty staging
 * directory, then renames that directory to `dir`. By itself the package unpacks into the shared
 * os.tmpdir() and reuses any `chromium` it finds there, of another version or still half written
 * by a parallel test file; here `dir` appears complete or not at all, under its version's name.
 * AWS_LAMBDA_JS_RUNTIME makes the package unpack its libraries too (al2023/lib), as it does on
 * AWS Lambda; it changes nothing else outside the child.
 */
async function unpack(entry: string, dir: string): Promise<void> {
  const parent = path.dirname(dir);
  mkdirSync(parent, { recursive: true });
  // A directory that lost its binary (deleted by hand, say), and staging directories that
  // interrupted runs left behind: an unpacking takes seconds, not ten minutes.
  if (!existsSync(path.join(dir, 'chromium'))) rmSync(dir, { recursive: true, force: true });
  for (const name of readdirSync(parent)) {
    const leftover = path.join(parent, name);
    const modified = statSync(leftover, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
    if (name.includes('.unpacking-') && modified < Date.now() - 600_000) {
      rmSync(leftover, { recursive: true, force: true });
    }
  }
  const staging = mkdtempSync(`${dir}.unpacking-`);
  const script = `const { default: c } = await import(${JSON.stringify(pathToFileURL(entry).href)});
process.stdout.write(await c.executablePath());`;
  try {
    const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', script], {
      env: { ...process.env, TMPDIR: staging, AWS_LAMBDA_JS_RUNTIME: 'nodejs20.x' },
      timeout: 120_000,
    });
    if (stdout !== path.join(staging, 'chromium')) throw new Error(`it unpacked to ${stdout}, not into ${staging}`);
    try {
      renameSync(staging, dir);
    } catch (error) {
      // A parallel test file was first.
      if (!existsSync(path.join(dir, 'chromium'))) throw error;
    }
  } catch (error) {
    throw new Error(
      `could not unpack Chromium from @sparticuz/chromium to ${dir} (set CHROMIUM_PATH to use another browser): ${String(error)}`,
      { cause: error },
    );
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The environment the browser starts in: with the package's libraries first on the library path
 * when the binary starts with them (they need glibc 2.34 or later), else the system's libraries.
 */
async function libraryEnv(binary: string, bundledLibs: string, source: string): Promise<NodeJS.ProcessEnv | undefined> {
  const failures: string[] = [];
  if (existsSync(bundledLibs)) {
    const inherited = process.env['LD_LIBRARY_PATH'];
    const env = { ...process.env, LD_LIBRARY_PATH: inherited ? `${bundledLibs}:${inherited}` : bundledLibs };
    try {
      await run(binary, ['--version'], { env, timeout: 30_000 });
      return env;
    } catch (error) {
      failures.push(`with its own libraries (${bundledLibs}): ${String(error)}`);
    }
  }
  try {
    await run(binary, ['--version'], { timeout: 30_000 });
    return undefined;
  } catch (error) {
    failures.push(`with the system's libraries: ${String(error)}`);
  }
  throw new Error(
    `Chromium from ${source} does not start: it needs libnss3, libnspr4 and libexpat1 from the ` +
      `system, or glibc 2.34 for its own copies (or set CHROMIUM_PATH to use another browser).\n` +
      failures.join('\n'),
  );
}
