// The openai SDK streaming a chat completion, as the tests that replay it
// through createReplayFetch() and through interceptHttp() both drive it.
import type OpenAI from "openai";

/** Streams a chat completion through `client`; the content deltas, in order. */
export async function chatDeltas(client: OpenAI): Promise<string[]> {
  const stream = await client.chat.completions.create({
    model: "gpt-test",
    messages: [{ role: "user", content: "Say the motto." }],
    stream: true,
  });
  const out: string[] = [];
  for await (const part of stream) {
    const content = part.choices[0]?.delta?.content;
    if (content) out.push(content);
  }
  return out;
}
