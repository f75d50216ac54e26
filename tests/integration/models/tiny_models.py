"""Tiny randomly initialised chat models built offline in seconds, for serving with
``transformers serve``: a LLaVA VLM (CLIP vision tower + Llama text model) and a Llama text LLM.

Nothing is downloaded: the byte-level BPE tokenizer is trained here by ``tokenizers`` on a few KB
of text, the weights are random (``torch.manual_seed``), so the answers are gibberish. What is
real is the server: request validation, chat templates, image decoding, generation limits,
``finish_reason``, usage counts and its error responses.

The models are written into a Hugging Face cache layout (``HF_HOME/hub/models--ORG--NAME``) so
that ``transformers serve`` lists them at ``GET /v1/models`` and loads them by id, offline.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<s>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image>{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant\n{% endif %}"
)

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>", "<image>"]

CORPUS = """
A woman in a purple dress stands by the window; a man in a grey suit turns towards her.
{"objects": [{"type": "cup", "description": "a white cup on the table"}], "people": [{"age": "adult",
"gender": "female", "looks": "long black hair, red coat", "emotion": "sad", "continuous_emotion":
{"valence": 3, "arousal": 6, "dominance": 4}}]} The camera pushes in on her face. Night, interior, a
small kitchen. He lights a candle. She laughs, then cries. Close-up, medium shot, full shot, wide.
"""


def _tokenizer(vocab_size: int = 400):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([CORPUS] * 20, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
                                   unk_token="<unk>", extra_special_tokens={"image_token": "<image>"})
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _never_stop(folder: Path, eos_id: int) -> None:
    """Random weights stop at random; suppressing the end token makes every answer run to its
    ``max_tokens`` (``finish_reason: length``) on every machine: the model that never stops, the
    worst case for a generation budget, and a deterministic one for the tests."""
    from transformers import GenerationConfig

    cfg = GenerationConfig.from_pretrained(folder)
    cfg.suppress_tokens = [eos_id]
    cfg.save_pretrained(folder)


def _llama_config(vocab: int, tok):  # type: ignore[no-untyped-def]
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=4096,
                       bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)


def build_tiny_llava(out: Path, seed: int = 0) -> Path:
    import torch
    from transformers import CLIPImageProcessor, CLIPVisionConfig, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

    torch.manual_seed(seed)
    tok = _tokenizer()
    image_size, patch = 32, 8
    cfg = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                                       image_size=image_size, patch_size=patch),
        text_config=_llama_config(len(tok), tok),
        image_token_index=tok.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
        pad_token_id=tok.pad_token_id,
    )
    model = LlavaForConditionalGeneration(cfg).eval()
    proc = LlavaProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}),
        tokenizer=tok, patch_size=patch, vision_feature_select_strategy="default", image_token="<image>",
        num_additional_image_tokens=1, chat_template=CHAT_TEMPLATE,
    )
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    proc.save_pretrained(out)
    _never_stop(out, tok.eos_token_id)
    return out


def build_tiny_llama(out: Path, seed: int = 1) -> Path:
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    tok = _tokenizer()
    model = LlamaForCausalLM(_llama_config(len(tok), tok)).eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    _never_stop(out, tok.eos_token_id)
    return out


def cache_folder(hf_home: Path, repo_id: str) -> Path:
    """The snapshot folder of ``repo_id`` in a Hugging Face cache under ``hf_home`` (refs/main set)."""
    repo = hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return repo / "snapshots" / commit
