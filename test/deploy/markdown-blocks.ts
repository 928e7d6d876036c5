/**
 * The body of the fenced code block whose info string names it: ```` ```ini hookchain.service ````.
 * Renderers take only the first word (the language), so the name costs the reader nothing.
 */
export function namedCodeBlock(markdown: string, name: string): { language: string; body: string } {
  const found = [
    ...markdown.matchAll(/^```(\S+)[ \t]+(\S+)[ \t]*\n([\s\S]*?)^```[ \t]*$/gm),
  ].filter((match) => match[2] === name)
  if (found.length !== 1) {
    throw new Error(`expected one code block named ${name}, found ${found.length}`)
  }
  const [, language, , body] = found[0] as RegExpMatchArray
  return { language: language as string, body: body as string }
}
