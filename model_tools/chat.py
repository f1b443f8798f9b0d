"""`./chat.sh MODEL`: talk to a model in the terminal, with its chat template and streamed replies.

Commands: /reset (forget the dialogue), /system TEXT (set the system message and reset),
/temp T (sampling temperature; 0 is greedy), /save FILE (the dialogue as JSON), /quit.
"""

import argparse
import json
import sys
from threading import Thread

from core.errors import UsageError

HELP = "commands: /reset  /system TEXT  /temp T  /save FILE  /quit"


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="chat.sh", description="Chat with a model in the terminal: its chat template, streamed replies, "
                                 "/reset /system TEXT /temp T /save FILE /quit.")
    p.add_argument("model", metavar="MODEL", help="run folder, checkpoint folder, Hugging Face folder or hub id")
    p.add_argument("--step", type=int, help="a run's checkpoint of this step (default: the latest)")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--max_new_tokens", type=int, default=512)
    p.add_argument("--system", help="system message")
    return p.parse_args(argv)


class Chat:
    def __init__(self, model_path: str, temperature: float, max_new_tokens: int, system: str | None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype="auto").to(device).eval()
        self.temperature, self.max_new_tokens, self.system = temperature, max_new_tokens, system
        self.history: list[dict] = []

    def messages(self) -> list[dict]:
        return ([{"role": "system", "content": self.system}] if self.system else []) + self.history

    def reply(self, text: str, out) -> str:
        """Streams the answer to `out` as it is generated; keeps both turns in the history."""
        import torch
        from transformers import TextIteratorStreamer

        self.history.append({"role": "user", "content": text})
        ids = self.tokenizer.apply_chat_template(self.messages(), add_generation_prompt=True, return_tensors="pt",
                                                 return_dict=True)
        ids = {k: v.to(self.model.device) for k, v in ids.items()}
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        sampling = dict(do_sample=True, temperature=self.temperature) if self.temperature > 0 else dict(do_sample=False)
        kwargs = dict(**ids, max_new_tokens=self.max_new_tokens, streamer=streamer, **sampling,
                      pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        worker = Thread(target=lambda: torch.no_grad()(self.model.generate)(**kwargs), daemon=True)
        worker.start()
        parts = []
        for piece in streamer:
            parts.append(piece)
            out.write(piece)
            out.flush()
        worker.join()
        out.write("\n")
        answer = "".join(parts)
        self.history.append({"role": "assistant", "content": answer})
        return answer

    def command(self, line: str, out) -> bool:
        """A /command; False to quit."""
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in ("/quit", "/exit"):
            return False
        if name == "/reset":
            self.history = []
            out.write("(dialogue cleared)\n")
        elif name == "/system":
            self.system, self.history = arg or None, []
            out.write(f"(system message {'set' if arg else 'removed'}; dialogue cleared)\n")
        elif name == "/temp":
            try:
                value = float(arg)
                if value < 0:
                    raise ValueError
                self.temperature = value
                out.write(f"(temperature {value:g})\n")
            except ValueError:
                out.write("(/temp T: a number >= 0; 0 is greedy)\n")
        elif name == "/save":
            if not arg:
                out.write("(/save FILE)\n")
            else:
                try:
                    with open(arg, "w") as f:
                        json.dump({"temperature": self.temperature, "messages": self.messages()}, f, indent=2)
                    out.write(f"(saved {len(self.history)} message(s) to {arg})\n")
                except OSError as err:  # the dialogue stays; another path can be given
                    out.write(f"(/save {arg}: {err.strerror or err})\n")
        else:
            out.write(f"({HELP})\n")
        return True


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from .merge import loadable_folder
    from .source import resolve

    try:
        source = resolve(args.model, args.step)
        chat = Chat(loadable_folder(source), args.temperature, args.max_new_tokens, args.system)
    except UsageError as err:
        print(f"chat.sh: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # transformers: a hub id that is unknown or unreachable, a folder it cannot read
        print(f"chat.sh: error: {args.model}: {str(err).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    out = sys.stdout
    out.write(f"chatting with {source.describe()} ({HELP}; Ctrl-D ends)\n")
    while True:
        out.write("you> ")
        out.flush()
        line = sys.stdin.readline()
        if not line:
            out.write("\n")
            return 0
        line = line.strip()
        if not line:
            continue
        if line.startswith("/"):
            if not chat.command(line, out):
                return 0
            continue
        out.write("model> ")
        chat.reply(line, out)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print()
        sys.exit(130)
