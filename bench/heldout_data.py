"""The held-out paraphrase set: 44 demo papers drawn at random (``random.Random(1729)``) and, for
each, a query written by hand the way a reader would ask for it, mostly in other words than the
title's. Written once, before any measurement, and never used to tune anything."""

QUERIES = {
    "2504.16264": "searching French academic papers with English queries, a new benchmark",
    "2603.28005": "does splitting an answer into individual claims help language model graders "
                  "check answers against a reference",
    "2605.22487": "mistakes in respectful forms of address when chatbots write Bengali",
    "2604.24544": "automatically generating synthetic test sets to evaluate LLM applications for one "
                  "domain and language",
    "2508.00287": "detecting sleepy drivers from face video while keeping the data private across vehicles",
    "2505.05056": "speech corpus of a southern Chinese dialect recorded in the wild with transcriptions",
    "2508.07908": "4D reconstruction of moving scenes from one video with separate memories for still "
                  "and moving parts",
    "2512.03848": "one model for heart MRI segmentation, disease classification and report writing",
    "2606.00139": "minimal path image segmentation that avoids shortcuts with curvature and tangent priors",
    "2602.21873": "federated learning with skewed classes and weak clients using generated prototypes",
    "2511.21097": "iris recognition under pupil dilation with curriculum learning and CNN features",
    "2509.03581": "teaching language model agents to decide when planning is worth the extra compute",
    "2507.14426": "finding which objects in a picture can be used for an action, with commonsense "
                  "knowledge and logic",
    "2606.16672": "outlier-robust rigid alignment of 3D point sets with optimal transport",
    "2605.21630": "generating very hard reasoning training problems by combining styles of thinking",
    "2503.15781": "drone navigation in cities it has never seen, with meta reinforcement learning",
    "2604.24079": "inferring the personality of a chatbot from what its replies imply",
    "2603.04457": "how robots and embodied AI could change where factories are located",
    "2603.19482": "fine-tuning vision language models for medicine without instruction data",
    "2602.15986": "how fast best-response dynamics converge in public goods games on networks",
    "2603.27904": "self-supervised pretraining of an encoder for stereo matching that sees both images",
    "2602.14120": "selling one item to a buyer with a private budget: how good are simple mechanisms",
    "2606.16749": "assessing the maturity of a facial bone suture from CT scans with state space models",
    "2509.15568": "a cheap way to synthesize long-document training data for language models",
    "2603.22883": "the same edit applied consistently to a batch of related photos at once",
    "2505.03729": "humanoid robot learns to climb stairs and sit down from casual videos of people",
    "2505.00551": "survey of open reproductions of DeepSeek R1 reasoning models",
    "2506.00777": "using LLMs to grade LLM outputs for biomedical relation extraction",
    "2606.12378": "contactless pulse measurement from a robot's camera under changing light",
    "2603.08450": "do models prefer Swedish that sounds translated over natural phrasing",
    "2606.31947": "emotional speech synthesis dataset for a small European language",
    "2512.10352": "animating animals with arbitrary skeletons from a text description",
    "2602.13479": "reading text in real time on smart glasses to answer questions about what you see",
    "2503.15169": "open LLMs compared on classifying health posts from social media and clinical notes",
    "2606.30296": "agents that learn across tasks to make math teaching animations",
    "2511.23329": "colour correction inspired by human vision, posed as energy minimisation",
    "2604.25133": "cute childlike way of speaking in Korean and its vowel formants",
    "2605.10239": "adapter for pretrained vision backbones in feed-forward Gaussian splatting",
    "2603.29784": "remote sensing images whose labels follow several paths of a class hierarchy",
    "2604.19631": "predicting relations between objects over time in videos from their motion",
    "2604.11201": "benchmark for general-purpose digital agents doing real-world tasks",
    "2509.25873": "a minimal agent scaffold to measure how well LLMs code",
    "2503.16031": "dataset of jokes built on false claims, in several languages",
    "2511.10215": "chatbot replies consistent with a given persona through alignment training",
}
