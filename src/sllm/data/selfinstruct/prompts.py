"""The three model-facing prompts of Self-Instruct, after yizhongw/self-instruct (Apache-2.0):
instruction generation (bootstrap_instructions.py), classification identification
(templates/clf_task_template.py, a subset of its examples) and instance generation
(templates/instance_gen_template.py: input-first, and output-first for classification), with
Korean versions of each for Korean seed pools."""

from __future__ import annotations

import re

GENERATE = {"en": "Come up with a series of tasks:\n", "ko": "다양한 작업을 생각해 내세요:\n"}

CLASSIFY_HEAD = {
    "en": "Can the following task be regarded as a classification task with finite output labels?\n\n",
    "ko": "다음 작업을 정해진 출력 레이블이 있는 분류 작업으로 볼 수 있습니까?\n\n",
}
CLASSIFY_EXAMPLES = {
    "en": [
        ("Given my personality and the job, tell me if I would be suitable.", "Yes"),
        ("Give me an example of a time when you had to use your sense of humor.", "No"),
        ("Replace the placeholders in the given text with appropriate named entities.", "No"),
        (
            "Fact checking - tell me if the statement is true, false, or unknown, based on your knowledge.",
            "Yes",
        ),
        ("Return the SSN number for the person.", "No"),
        ("Detect if the Reddit thread contains hate speech.", "Yes"),
        ("Write a haiku about the sea.", "No"),
        ("Is the following sentence grammatical? Answer yes or no.", "Yes"),
    ],
    "ko": [
        ("내 성격과 직업을 보고 내가 그 일에 맞는지 알려 주세요.", "예"),
        ("유머 감각을 발휘해야 했던 경험의 예를 들어 주세요.", "아니요"),
        ("주어진 글의 빈칸을 알맞은 고유명사로 채우세요.", "아니요"),
        ("다음 문장이 사실인지 거짓인지 판단하세요.", "예"),
        ("게시글에 혐오 표현이 있는지 판별하세요.", "예"),
        ("바다에 관한 짧은 시를 쓰세요.", "아니요"),
    ],
}
CLASSIFY_QUESTION = {"en": ("Task", "Is it classification?"), "ko": ("작업", "분류 작업인가요?")}

INPUT_FIRST = {
    "en": "Come up with examples for the following tasks. Try to generate multiple examples when possible. "
    "If the task doesn't require additional input, you can generate the output directly.\n\n"
    "Task: Which exercises are best for reducing belly fat at home?\n"
    "Output:\n- Lying Leg Raises\n- Leg In And Out\n- Plank\n- Side Plank\n- Sit-ups\n\n"
    "Task: Converting 85 F to Celsius.\nOutput: 85°F = 29.44°C\n\n"
    "Task: Sort the given list ascendingly.\n"
    "Example 1\nList: [10, 92, 2, 5, -4, 92, 5, 101]\nOutput: [-4, 2, 5, 5, 10, 92, 92, 101]\n"
    "Example 2\nInput 2 - List: [9.99, 10, -5, -1000, 5e6, 999]\nOutput: [-1000, -5, 9.99, 10, 999, 5e6]\n\n"
    "Task: {instruction}\n",
    "ko": "다음 작업의 예시를 만드세요. 가능하면 여러 개를 만드세요. "
    "추가 입력이 필요 없는 작업이면 출력을 바로 쓰세요.\n\n"
    "작업: 집에서 뱃살을 빼는 데 가장 좋은 운동은 무엇인가요?\n"
    "출력:\n- 누워서 다리 들기\n- 플랭크\n- 사이드 플랭크\n- 윗몸 일으키기\n\n"
    "작업: 화씨 85도를 섭씨로 바꾸세요.\n출력: 화씨 85도는 섭씨 약 29.44도입니다.\n\n"
    "작업: 주어진 목록을 오름차순으로 정렬하세요.\n"
    "예시 1\n목록: [10, 92, 2, 5, -4]\n출력: [-4, 2, 5, 10, 92]\n"
    "예시 2\n목록: [9.99, 10, -5]\n출력: [-5, 9.99, 10]\n\n"
    "작업: {instruction}\n",
}
OUTPUT_FIRST = {
    "en": "Given the classification task definition and the class labels, generate an input that corresponds "
    "to each of the class labels. If the task doesn't require input, just generate possible class labels.\n\n"
    "Task: Classify the sentiment of the sentence into positive, negative, or mixed.\n"
    "Class label: mixed\nSentence: I enjoy the flavor of the restaurant but their service is too slow.\n"
    "Class label: Positive\nSentence: I had a great day today. The weather was beautiful.\n"
    "Class label: Negative\nSentence: I was really disappointed by the latest superhero movie.\n\n"
    "Task: Tell me if the following email is a promotion email or not.\n"
    "Class label: Promotion\nEmail: Check out our amazing new sale! We've got discounts on all of our "
    "products.\nClass label: Not Promotion\nEmail: We hope you are doing well. Let us know if you need any "
    "help.\n\n"
    "Task: {instruction}\n",
    "ko": "분류 작업의 정의와 레이블이 주어지면, 각 레이블에 해당하는 입력을 만드세요. "
    "입력이 필요 없는 작업이면 가능한 레이블만 쓰세요.\n\n"
    "작업: 문장의 감정을 긍정, 부정, 혼합 중 하나로 분류하세요.\n"
    "레이블: 혼합\n문장: 음식 맛은 좋았지만 서비스가 너무 느렸어요.\n"
    "레이블: 긍정\n문장: 오늘은 날씨도 좋고 정말 즐거운 하루였어요.\n"
    "레이블: 부정\n문장: 새로 나온 영화는 정말 실망스러웠어요.\n\n"
    "작업: {instruction}\n",
}
OUTPUT_MARK = {"en": "Output:", "ko": "출력:"}
EXAMPLE_MARK = {"en": "Example", "ko": "예시"}
LABEL_MARK = {"en": "Class label:", "ko": "레이블:"}


def generation_prompt(instructions: list[str], language: str) -> str:
    """The numbered list of in-context tasks, ending at the next number for the model to fill."""
    cleaned = [re.sub(r"\s+", " ", t).strip().rstrip(":") for t in instructions]
    lines = [f"{i}. {t}" for i, t in enumerate(cleaned, start=1)]
    return GENERATE[language] + "\n".join(lines) + f"\n{len(instructions) + 1}."


def classify_prompt(instruction: str, language: str) -> str:
    """Few-shot yes/no: is the task a classification task?"""
    task, question = CLASSIFY_QUESTION[language]
    shots = "".join(f"{task}: {t}\n{question} {a}\n\n" for t, a in CLASSIFY_EXAMPLES[language])
    return f"{CLASSIFY_HEAD[language]}{shots}{task}: {instruction}\n{question}"


def instance_prompt(instruction: str, classification: bool, language: str) -> str:
    """Output-first for classification tasks (a label, then an input for it), input-first otherwise."""
    template = OUTPUT_FIRST if classification else INPUT_FIRST
    suffix = LABEL_MARK[language] if classification else ""
    return template[language].format(instruction=instruction) + suffix
