// Runs Dolos (@dodona/dolos-lib) on the documents given as JSON on stdin and writes every pair as JSON
// on stdout. Called by autograder/similarity/engine.py: `node dolos_runner.mjs DOLOS_LIB_INDEX_JS`.
//
// stdin:  {"language": "python" | "char", "files": [{"name", "content"}], "template": str | null,
//          "fragment_pairs": N}
// stdout: {"pairs": [{"left", "right", "similarity", "longest", "left_covered", "right_covered",
//          "left_total", "right_total" (k-grams not in the template), "fragments": [[[l0, c0, l1, c1], [l0, c0, l1, c1]], ...]}]}
// Fragments (0-based line/column regions, left then right) are given for the N pairs of the highest
// similarity and the N of the longest shared fragment; the other pairs carry an empty list.
import { pathToFileURL } from "node:url";

const readStdin = async () => {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
};

const region = (r) => [r.startRow, r.startCol, r.endRow, r.endCol];

const main = async () => {
  const lib = await import(pathToFileURL(process.argv[2]).href);
  const request = await readStdin();
  const extension = request.language === "char" ? ".txt" : ".py";
  const files = request.files.map((f, i) => new lib.File(`${i}${extension}`, f.content));
  const template = request.template ? new lib.File(`template${extension}`, request.template) : undefined;
  const dolos = new lib.Dolos({ language: request.language });
  const report = await dolos.analyze(files, "similarity", template);
  const names = request.files.map((f) => f.name);
  const nameOf = (file) => names[Number.parseInt(file.path, 10)];
  const pairs = report.allPairs();
  const wanted = new Set();
  const top = request.fragment_pairs || 0;
  [...pairs].sort((a, b) => b.similarity - a.similarity).slice(0, top).forEach((p) => wanted.add(p));
  [...pairs].sort((a, b) => b.longest - a.longest).slice(0, top).forEach((p) => wanted.add(p));
  const out = pairs.map((p) => ({
    left: nameOf(p.leftFile),
    right: nameOf(p.rightFile),
    similarity: Number.isFinite(p.similarity) ? p.similarity : 0,
    longest: p.longest,
    left_covered: p.leftCovered,
    right_covered: p.rightCovered,
    // k-grams that are also the template's do not count (Dolos's own rightIgnored repeats the left side's)
    left_total: p.leftTotal - p.leftEntry.ignored.size,
    right_total: p.rightTotal - p.rightEntry.ignored.size,
    fragments: wanted.has(p) && p.similarity > 0
      ? p.buildFragments().map((f) => [region(f.leftSelection), region(f.rightSelection)])
      : [],
  }));
  process.stdout.write(JSON.stringify({ pairs: out }));
};

main().catch((error) => {
  process.stderr.write(`dolos: ${error && error.message ? error.message : error}\n`);
  process.exit(1);
});
