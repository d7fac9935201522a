import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  acmeDir,
  acmeLockPath,
  acmeObjectPath,
  acmeTlsPaths,
  bundlePath,
  crlBundlePath,
  crlPaths,
  formatFiles,
  identityPaths,
  KIND_FOLDER,
  KINDS,
  kindDir,
  launchDir,
  lockPath,
  MODES,
  pendingHooksPath,
  retiredCertPath,
  retiredDir,
  statePath,
  watchLockPath,
} from "../../src/store/layout.js";

/**
 * The output tree's layout is documented in the README (users script against it, and every other module
 * takes its paths from here): each path is spelled out in full, so a changed name or folder fails here.
 */
const OUT = "/srv/pki";

describe("the output tree's layout", () => {
  it("each kind has its folder", () => {
    expect(KINDS).toEqual(["ca", "server", "client"]);
    expect(KIND_FOLDER).toEqual({ ca: "cas", server: "servers", client: "clients" });
    expect(KINDS.map((k) => kindDir(OUT, k))).toEqual(["/srv/pki/cas", "/srv/pki/servers", "/srv/pki/clients"]);
  });

  it("an identity's files, for each kind, and the same answer twice (from the cache) but never another identity's", () => {
    const web = identityPaths(OUT, "server", "web");
    expect(web).toEqual({
      dir: "/srv/pki/servers/web",
      cert: "/srv/pki/servers/web/cert.pem",
      key: "/srv/pki/servers/web/key.pem",
      chain: "/srv/pki/servers/web/chain.pem",
      fullchain: "/srv/pki/servers/web/fullchain.pem",
      der: "/srv/pki/servers/web/cert.der",
      keyDer: "/srv/pki/servers/web/key.der",
      p12: "/srv/pki/servers/web/identity.p12",
      combined: "/srv/pki/servers/web/combined.pem",
      nextKey: "/srv/pki/servers/web/next-key.pem",
    });
    // The very same object: a run over thousands of identities builds each identity's paths once.
    expect(identityPaths(OUT, "server", "web")).toBe(web);
    // The cache key holds all three parts: none of them may be dropped.
    expect(identityPaths(OUT, "client", "web").cert).toBe("/srv/pki/clients/web/cert.pem");
    expect(identityPaths(OUT, "server", "api").cert).toBe("/srv/pki/servers/api/cert.pem");
    expect(identityPaths("/other", "server", "web").cert).toBe("/other/servers/web/cert.pem");
    expect(identityPaths(OUT, "ca", "root").key).toBe("/srv/pki/cas/root/key.pem");
    // "a\0b" + "c" and "a" + "b\0c" would collide without a separator that names cannot hold.
    expect(identityPaths("/x", "ca", "y").dir).toBe("/x/cas/y");
  });

  it("the files at the top of the output folder and below a CA", () => {
    expect([statePath(OUT), bundlePath(OUT), lockPath(OUT), watchLockPath(OUT), pendingHooksPath(OUT), crlBundlePath(OUT)]).toEqual([
      "/srv/pki/state.json",
      "/srv/pki/ca-bundle.pem",
      "/srv/pki/.provision.lock",
      "/srv/pki/.provision-watch.lock",
      "/srv/pki/hooks-pending.json",
      "/srv/pki/crl-bundle.pem",
    ]);
    expect(launchDir(OUT, "web")).toBe("/srv/pki/launch/web");
    expect(retiredDir(OUT, "root")).toBe("/srv/pki/cas/root/retired");
    const fingerprint = "0123456789abcdef".repeat(4);
    expect(retiredCertPath(OUT, "root", fingerprint)).toBe("/srv/pki/cas/root/retired/0123456789abcdef.pem");
    expect(crlPaths(OUT, "root")).toEqual({ pem: "/srv/pki/cas/root/crl.pem", der: "/srv/pki/cas/root/crl.der" });
  });

  it("modes, and the files of each extra format", () => {
    expect(MODES).toEqual({ key: 0o600, cert: 0o644, keyDir: 0o700, publicDir: 0o755 });
    const paths = identityPaths(OUT, "client", "bob");
    expect(formatFiles(paths, "der")).toEqual([paths.der, paths.keyDer]);
    expect(formatFiles(paths, "p12")).toEqual([paths.p12]);
    expect(formatFiles(paths, "combined")).toEqual([paths.combined]);
  });

  it("provision acme's files", () => {
    expect(acmeDir(OUT)).toBe("/srv/pki/acme");
    expect(acmeLockPath(OUT)).toBe("/srv/pki/acme/.acme.lock");
    expect(acmeObjectPath(OUT, "orders", "abc_-1", "json")).toBe("/srv/pki/acme/orders/abc_-1.json");
    expect(acmeObjectPath(OUT, "certs", "x", "pem")).toBe(path.join(OUT, "acme", "certs", "x.pem"));
    expect(acmeTlsPaths(OUT)).toEqual({ dir: "/srv/pki/acme/tls", cert: "/srv/pki/acme/tls/cert.pem", key: "/srv/pki/acme/tls/key.pem" });
  });
});
