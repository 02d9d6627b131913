// Held-out evaluation questions about the synthetic world, in the lm-evaluation-harness multiple-choice
// shape (question, choices, gold index): facts (residence, trade, favourite colour, pets, counts,
// capitals, which country a town is in) and small-number arithmetic. The question wordings are chosen
// so that none of them occurs in the crawl (see PhrasingMarkers; a test scans every page), so a model
// scores only by having learned the fact, not by having seen the sentence. The "Question:/Answer:" frame
// itself does occur: the crawl's quiz pages ask about the same facts in other words. Questions never enter the
// training data: they are written to questions.jsonl, beside the crawl, not into it.
namespace SharpLM.Text.Data.Synthetic;

/// <summary>One multiple-choice question.</summary>
/// <param name="Id">Stable id.</param>
/// <param name="Task">"facts" or "arithmetic".</param>
/// <param name="Kind">The fact type (residence, trade, colour, pet_species, pet_owner, count, capital, town_country, addition, subtraction).</param>
/// <param name="Question">The question text.</param>
/// <param name="Choices">Candidate answers (continuations).</param>
/// <param name="Gold">Index of the right answer in <paramref name="Choices"/>.</param>
/// <param name="Subject">The entity asked about (a name, or the operands).</param>
public sealed record McQuestion(string Id, string Task, string Kind, string Question, IReadOnlyList<string> Choices, int Gold, string Subject)
{
    /// <summary>
    /// The prompt a model is scored on, lm-evaluation-harness style ("Question: …", then "Answer:"), with the blank line
    /// that separates paragraphs of extracted web text, the frame the crawl's quiz pages use.
    /// </summary>
    public string Prompt => $"Question: {Question}\n\nAnswer:";
}

/// <summary>Generates the held-out questions of a world.</summary>
public static class QuestionSet
{
    /// <summary>Word fragments used only by question wordings; none of them appears anywhere in the crawl.</summary>
    public static readonly string[] PhrasingMarkers =
        ["reside", "resident", "occupation", "earn a living", "above all", "most loved", "sort of creature",
         "kind of animal", "whose pet", "looks after", "seat of government", "which country", "in the possession of",
         "sum of", "taken away from", "difference between"];

    private const ulong Salt = 0x301;

    /// <summary>
    /// All fact questions of <paramref name="world"/> (one per person and fact type, one per pet and fact type,
    /// one per country and town) and <paramref name="arithmetic"/> arithmetic questions, each with four choices.
    /// </summary>
    public static List<McQuestion> Create(World world, long seed, int arithmetic = 100)
    {
        var rng = SynthRng.For(seed, Salt, 0);
        var list = new List<McQuestion>();
        var towns = world.Towns.Select(t => t.Name).ToList();
        var jobs = world.People.Select(p => p.Job).Distinct().ToList();
        var colours = Lexicon.Colours.ToList();
        var species = Lexicon.Species.ToList();
        var firsts = world.People.Select(p => p.First).ToList();
        var capitals = world.Countries.Select(c => c.Capital).ToList();
        var countries = world.Countries.Select(c => c.Name).ToList();
        var counts = Enumerable.Range(2, 8).Select(Lexicon.Number).ToList();

        void Add(string task, string kind, string subject, string q, string gold, IReadOnlyList<string> pool)
        {
            var others = pool.Where(x => x != gold).Distinct().ToList();
            var choices = rng.Sample(others, Math.Min(3, others.Count));
            int at = rng.Next(choices.Count + 1);
            choices.Insert(at, gold);
            list.Add(new McQuestion($"{task}-{list.Count:D4}", task, kind, q, choices, at, subject));
        }

        foreach (var p in world.People)
        {
            string n = rng.Chance(0.5) ? p.FullName : p.First;
            Add("facts", "residence", p.First, rng.Chance(0.5) ? $"In which town does {n} reside?" : $"{n} is a resident of which town?", p.Town, towns);
            Add("facts", "trade", p.First, rng.Chance(0.5) ? $"What is the occupation of {n}?" : $"How does {n} earn a living?", p.Job, jobs);
            Add("facts", "colour", p.First, rng.Chance(0.5) ? $"Which colour does {n} like above all others?" : $"What is the most loved colour of {n}?", p.Colour, colours);
            Add("facts", "count", p.First, $"How many {p.CountedThing} are in the possession of {n}?", Lexicon.Number(p.Count), counts);
        }
        foreach (var pet in world.Pets)
        {
            Add("facts", "pet_species", pet.Name, rng.Chance(0.5) ? $"What sort of creature is {pet.Name}?" : $"{pet.Name} is what kind of animal?", pet.Species, species);
            Add("facts", "pet_owner", pet.Name, rng.Chance(0.5) ? $"Whose pet is {pet.Name}?" : $"Who looks after the animal named {pet.Name}?", pet.Owner, firsts);
        }
        foreach (var c in world.Countries)
            Add("facts", "capital", c.Name, $"Which city is the seat of government of {c.Name}?", c.Capital, capitals);
        foreach (var t in world.Towns)
            Add("facts", "town_country", t.Name, $"The town {t.Name} can be found in which country?", t.Country, countries);

        for (int i = 0; i < arithmetic; i++)
        {
            bool add = rng.Chance(0.5);
            int x, y, z;
            if (add) { x = rng.Range(0, 10); y = rng.Range(0, 10); z = x + y; }
            else { x = rng.Range(1, 20); y = rng.Range(0, x); z = x - y; }
            var pool = Enumerable.Range(Math.Max(0, z - 5), 11).Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            string q = add
                ? (rng.Chance(0.5) ? $"What is the sum of {x} and {y}?" : $"What is {x} + {y}?")
                : (rng.Chance(0.5) ? $"What is left when {y} is taken away from {x}?" : $"What is the difference between {x} and {y}?");
            Add("arithmetic", add ? "addition" : "subtraction", $"{x},{y}", q, z.ToString(System.Globalization.CultureInfo.InvariantCulture), pool);
        }
        return list;
    }
}
