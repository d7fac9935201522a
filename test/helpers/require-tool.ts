import { execFileSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";

const found = new Map<string, boolean>();

function onPath(name: string): boolean {
  let hit = found.get(name);
  if (hit === undefined) {
    hit = (process.env.PATH ?? "").split(path.delimiter).some((dir) => {
      try {
        accessSync(path.join(dir || ".", name), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
    found.set(name, hit);
  }
  return hit;
}

/** How to get what is missing: the Debian package, and the script that installs everything the tests use. */
function installLine(debianPackage: string): string {
  return `install it with: apt-get install ${debianPackage}   (or run: sudo bash .ci/run, which installs every tool the tests use)`;
}

/**
 * Fails the calling test, before anything else, when a tool it drives is not installed: the failure names the
 * tool and the install line, instead of an assertion about empty output. Every end-to-end test calls it for
 * each tool it runs (a test never skips for a missing tool: CI installs them all).
 */
export function requireTool(name: string, debianPackage: string): void {
  if (!onPath(name)) throw new Error(`${name} is not installed (not found on PATH); this test needs it: ${installLine(debianPackage)}`);
}

/** The same for a Python module the test's Python code imports (Flask, requests). */
export function requirePythonModule(module: string, debianPackage: string): void {
  requireTool("python3", "python3");
  const key = `python3:${module}`;
  if (!found.has(key)) {
    let ok = true;
    try {
      execFileSync("python3", ["-c", `import ${module}`], { stdio: "ignore" });
    } catch {
      ok = false;
    }
    found.set(key, ok);
  }
  if (!found.get(key)) throw new Error(`the Python module ${module} is not installed; this test needs it: ${installLine(debianPackage)}`);
}

/** The uwsgi plugins the rendered uwsgi.ini loads (Debian ships each as its own package). */
export function requireUwsgi(): void {
  requireTool("uwsgi", "uwsgi-core");
  const dir = "/usr/lib/uwsgi/plugins";
  for (const [plugin, debianPackage] of [["python3", "uwsgi-plugin-python3"]] as const) {
    try {
      accessSync(path.join(dir, `${plugin}_plugin.so`));
    } catch {
      throw new Error(`the uwsgi ${plugin} plugin is not installed (${dir}/${plugin}_plugin.so); this test needs it: ${installLine(debianPackage)}`);
    }
  }
  requirePythonModule("flask", "python3-flask");
  requirePythonModule("requests", "python3-requests");
}
