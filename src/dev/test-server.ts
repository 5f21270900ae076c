import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { cacheDir, findOnPath, installOnce, pathExists, runInstallCommand } from './cache-dir';
import { freePort, waitForPort } from './free-port';
import { checkExecutable, type ServerExecutable } from './temporal-cli';

/** Temporal's time-skipping test server ships in the Java SDK; this is the version we pin. */
export const TEST_SERVER_VERSION = '1.38.0';
const MAIN_CLASS = 'io.temporal.testserver.TestServer';
const WRAPPER = 'temporal-test-server';
// The SDK gives the server only 5 s to listen. C1-only JIT and SerialGC trim JVM start, and an
// AppCDS archive of the server's classes cut time-to-listen from ~0.8 s to ~0.3 s (measured).
const FAST_START_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xshare:auto'];

/**
 * Absolute path of an executable that runs the time-skipping test server: $TIDEMARK_TEST_SERVER,
 * else the cached wrapper, else a fresh Maven install. Undefined when java or mvn is missing.
 */
export async function ensureTestServer(): Promise<string | undefined> {
  const override = process.env.TIDEMARK_TEST_SERVER;
  if (override) return checkExecutable(override, 'TIDEMARK_TEST_SERVER');

  const dir = path.join(cacheDir(), 'temporal-test-server', TEST_SERVER_VERSION);
  const wrapper = path.join(dir, WRAPPER);
  if (!(await pathExists(wrapper))) {
    const java = await findJava();
    const mvn = await findOnPath('mvn');
    if (!java || !mvn) return undefined;
    process.stderr.write(
      `tidemark: installing Temporal test server ${TEST_SERVER_VERSION} with Maven (first run only, about a minute)…\n`,
    );
    await installOnce(dir, (tmpDir) => installJars(tmpDir, dir, java, mvn));
  }
  // The archive records the class path, so it can only be made once the jars sit at their final path.
  const cdsDir = path.join(dir, 'cds');
  const jvm = (await pathExists(cdsDir)) ? undefined : await findJava();
  if (jvm) await installOnce(cdsDir, (tmpDir) => trainClassArchive(dir, jvm, path.join(tmpDir, 'app.jsa')));
  return wrapper;
}

/** For the SDK's `server.executable` (`TestWorkflowEnvironment.createTimeSkipping`). */
export async function testServerExecutable(): Promise<ServerExecutable> {
  const bin = await ensureTestServer();
  return bin ? { type: 'existing-path', path: bin } : { type: 'cached-download' };
}

async function findJava(): Promise<string | undefined> {
  const home = process.env.JAVA_HOME;
  if (home && (await pathExists(path.join(home, 'bin', 'java')))) return path.join(home, 'bin', 'java');
  return findOnPath('java');
}

function jvmArgs(finalDir: string): string[] {
  return [
    ...FAST_START_FLAGS,
    `-XX:SharedArchiveFile=${path.join(finalDir, 'cds', 'app.jsa')}`,
    '-cp',
    `${path.join(finalDir, 'lib')}/*`,
  ];
}

async function installJars(tmpDir: string, finalDir: string, java: string, mvn: string): Promise<void> {
  const pomDir = path.join(tmpDir, 'pom');
  await fs.mkdir(pomDir);
  // slf4j-nop only silences SLF4J's "no binding" warning on every start.
  await fs.writeFile(
    path.join(pomDir, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.tidemark</groupId><artifactId>test-server-fetch</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>io.temporal</groupId><artifactId>temporal-test-server</artifactId><version>${TEST_SERVER_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-nop</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`,
  );
  const lib = path.join(tmpDir, 'lib');
  try {
    await runInstallCommand(mvn, ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`], {
      cwd: pomDir,
    });
  } catch (err) {
    throw new Error(
      `Installing the Temporal test server failed: ${(err as Error).message}\n` +
        `Check that Maven can reach Maven Central, or set TIDEMARK_TEST_SERVER to a test-server executable.`,
      { cause: err },
    );
  }
  await fs.rm(pomDir, { recursive: true, force: true });
  if (!(await pathExists(path.join(lib, `temporal-test-server-${TEST_SERVER_VERSION}.jar`)))) {
    throw new Error(`mvn dependency:copy-dependencies did not produce temporal-test-server-${TEST_SERVER_VERSION}.jar`);
  }
  const script = [
    '#!/bin/sh',
    `# Temporal time-skipping test server ${TEST_SERVER_VERSION}, installed by tidemark (src/dev/test-server.ts).`,
    `exec ${[java, ...jvmArgs(finalDir), MAIN_CLASS].map(shellQuote).join(' ')} "$@"`,
    '',
  ].join('\n');
  await fs.writeFile(path.join(tmpDir, WRAPPER), script, { mode: 0o755 });
}

/**
 * Records the classes the server loads while starting into an AppCDS archive (JDK ≥13).
 * Best effort: without an archive the JVM silently starts the slow way.
 */
async function trainClassArchive(finalDir: string, java: string, archive: string): Promise<void> {
  const port = await freePort();
  const args = jvmArgs(finalDir).filter((a) => !a.startsWith('-XX:SharedArchiveFile='));
  const child = spawn(java, [`-XX:ArchiveClassesAtExit=${archive}`, ...args, MAIN_CLASS, String(port)], {
    stdio: 'ignore',
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    const done = (): void => {
      exited = true;
      resolve();
    };
    child.on('close', done);
    child.on('error', done);
  });
  try {
    await waitForPort(port, {
      timeoutMs: 30_000,
      what: 'test server',
      failed: () => (exited ? new Error('test server exited') : undefined),
    });
  } catch {
    /* no archive then */
  }
  child.kill('SIGTERM'); // the JVM writes the archive while exiting
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exit;
  clearTimeout(timer);
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
