//! The built-in vocabulary: common English words of at most eight ASCII
//! letters. Under the built-in tokenizer each `" word"` is exactly one token,
//! which makes synthetic prompts and the simulator's output token-exact.

/// Words used for synthetic text.
pub const WORDS: &[&str] = &[
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by",
    "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an",
    "had", "they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there",
    "been", "if", "more", "when", "will", "would", "who", "so", "no", "she", "other", "its", "may",
    "these", "what", "them", "than", "some", "him", "time", "into", "only", "do", "could", "new",
    "about", "two", "first", "then", "also", "any", "like", "very", "our", "after", "most", "over",
    "such", "out", "many", "where", "those", "made", "before", "must", "well", "through", "years",
    "much", "should", "each", "between", "under", "never", "same", "while", "last", "might",
    "great", "since", "against", "right", "three", "people", "state", "world", "still", "own",
    "being", "work", "long", "life", "both", "down", "part", "because", "little", "water", "place",
    "house", "number", "system", "program", "question", "during", "without", "again", "around",
    "however", "home", "small", "found", "thought", "went", "say", "general", "point", "every",
    "public", "large", "given", "course", "case", "order", "high", "within", "early", "hand",
    "once", "group", "another", "present", "school", "later", "country", "always", "often",
    "until", "second", "rather", "family", "among", "light", "local", "city", "power", "interest",
    "result", "change", "model", "data", "value", "table", "signal", "river", "garden", "window",
    "market", "engine", "answer", "energy", "orbit", "planet", "forest", "valley", "bridge",
    "harbor", "silver", "copper", "marble", "velvet", "amber", "cedar", "maple", "willow",
    "meadow", "canyon", "island", "summit", "glacier", "prairie", "lantern", "compass", "anchor",
    "voyage", "harvest", "thunder", "whisper", "journey", "balance", "pattern", "measure",
    "network", "process", "storage", "memory", "kernel", "thread", "socket", "buffer", "packet",
    "stream", "matrix", "vector", "tensor", "shadow", "morning", "evening", "winter", "summer",
    "autumn", "spring", "ocean", "desert", "castle", "village", "doctor", "teacher", "student",
    "author", "painter", "farmer", "captain", "pilot", "museum", "library", "theater", "kitchen",
    "bottle", "basket", "pencil", "paper",
];
