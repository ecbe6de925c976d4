// Is each file a GitHub Actions workflow (or action, for action.yml / action.yaml) as GitHub reads it?
// Reads file paths from argv, prints {path: [error messages]} as JSON (an empty list: accepted).
// Uses GitHub's own parser and schemas (@actions/workflow-parser, from actions/languageservices): the
// template reader (schema, duplicate keys), then, for workflows, the conversion to a workflow model.
import {readFileSync} from "node:fs";
import {register} from "node:module";
import {basename} from "node:path";

register("./json-hooks.mjs", import.meta.url);
const {NoOperationTraceWriter, convertWorkflowTemplate, parseWorkflow} = await import("@actions/workflow-parser");
const {parseAction} = await import("@actions/workflow-parser/actions/action-parser");
const {ErrorPolicy} = await import("@actions/workflow-parser/model/convert");

const out = {};
for (const path of process.argv.slice(2)) {
  const file = {name: path, content: readFileSync(path, "utf8")};
  const isAction = ["action.yml", "action.yaml"].includes(basename(path));
  const trace = new NoOperationTraceWriter();
  let errors = [];
  try {
    const result = isAction ? parseAction(file, trace) : parseWorkflow(file, trace);
    errors = result.context.errors.getErrors().map((e) => e.message);
    if (result.value === undefined && errors.length === 0) {
      errors.push("empty document");
    }
    if (!isAction && result.value !== undefined && errors.length === 0) {
      const template = await convertWorkflowTemplate(result.context, result.value, undefined, {
        errorPolicy: ErrorPolicy.ReturnErrorsOnly,
      });
      errors = (template.errors || []).map((e) => e.Message ?? e.message ?? String(e));
    }
  } catch (e) {
    errors = [`parser exception: ${e.message}`];
  }
  out[path] = errors;
}
process.stdout.write(JSON.stringify(out));
