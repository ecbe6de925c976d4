// The parser imports its schema JSON files without `with {type: "json"}` (it is built for bundlers);
// Node 20 requires the attribute, so this load hook adds it.
export async function load(url, context, nextLoad) {
  if (url.endsWith(".json")) {
    return nextLoad(url, {...context, importAttributes: {...context.importAttributes, type: "json"}});
  }
  return nextLoad(url, context);
}
