// Held-out evaluation questions about the synthetic world, in the lm-evaluation-harness multiple-choice
// shape (question, choices, gold index): facts (residence, trade, favourite colour, pets, counts,
// capitals, which country a town is in) and small-number arithmetic. The questions are built from words
// the crawl uses, in sentence forms it never uses: every held-out question opens with a frame ("Do you
// remember …", "Can you name …") that occurs nowhere in the crawl (PhrasingMarkers; a test scans every
// page), while the crawl's quiz pages ask about the same facts in seven other forms each. So a model
// scores by having learned the fact in a form it can pull out of a new question ("Physics of Language
// Models, Part 3.1": knowledge stated in varied forms becomes extractable), not by having seen the
// sentence. The "Question:/Answer:" frame itself does occur. Questions never enter the training data:
// they are written to questions.jsonl, beside the crawl, not into it.
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
    /// The prompt a model is scored on, lm-evaluation-harness style ("Question: …", then "Answer:" on the next line): the
    /// frame of the crawl's quiz pages as text extraction returns them (one paragraph per line).
    /// </summary>
    public string Prompt => $"Question: {Question}\nAnswer:";
}

/// <summary>Generates the held-out questions of a world.</summary>
public static class QuestionSet
{
    /// <summary>
    /// The frames every held-out question opens with; none of them occurs anywhere in the crawl (case-insensitive),
    /// while every word of the questions does.
    /// </summary>
    public static readonly string[] PhrasingMarkers = ["do you remember", "can you name"];

    private const ulong Salt = 0x301;

    /// <summary>
    /// The same fact as fact question <paramref name="q"/>, asked as the crawl's quiz pages ask it (their second
    /// wording, with the subject's first name): a question the model has seen, to compare with the held-out one.
    /// </summary>
    public static string CrawlWording(World world, McQuestion q)
    {
        var (who, kind) = q.Kind switch
        {
            "residence" => (world.PersonNamed(q.Subject), 0),
            "trade" => (world.PersonNamed(q.Subject), 1),
            "colour" => (world.PersonNamed(q.Subject), 2),
            "count" => (world.PersonNamed(q.Subject), 3),
            "pet_species" => (world.PersonNamed(world.PetNamed(q.Subject).Owner), 4),
            "pet_owner" => (world.PersonNamed(world.PetNamed(q.Subject).Owner), 5),
            "capital" => (world.People.First(p => world.TownNamed(p.Town).Country == q.Subject), 6),
            "town_country" => (world.People.First(p => p.Town == q.Subject), 7),
            _ => throw new ArgumentException($"question {q.Id}: no crawl wording for kind '{q.Kind}'", nameof(q)),
        };
        // A fixed stream: the wording is fixed, only the restating sentence (unused here) is drawn.
        var rng = new SynthRng(1);
        return new EnglishWriter(world).QuizFact(who, kind, ref rng, form: 1, fullName: false).Question;
    }

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

        // Two held-out forms per fact type, one per frame, drawn at random.
        foreach (var p in world.People)
        {
            string n = rng.Chance(0.5) ? p.FullName : p.First;
            Add("facts", "residence", p.First, rng.Chance(0.5) ? $"Do you remember the town where {n} has a home?" : $"Can you name the town that {n} lives in?", p.Town, towns);
            Add("facts", "trade", p.First, rng.Chance(0.5) ? $"Do you remember the job that {n} has?" : $"Can you name the work that {n} does every day?", p.Job, jobs);
            Add("facts", "colour", p.First, rng.Chance(0.5) ? $"Do you remember which colour {n} likes more than any other?" : $"Can you name the favourite colour of {n}?", p.Colour, colours);
            Add("facts", "count", p.First, rng.Chance(0.5) ? $"Do you remember how many {p.CountedThing} {n} keeps at home?" : $"Can you name the number of {p.CountedThing} that {n} owns?", Lexicon.Number(p.Count), counts);
        }
        foreach (var pet in world.Pets)
        {
            Add("facts", "pet_species", pet.Name, rng.Chance(0.5) ? $"Do you remember which animal {pet.Name} is?" : $"Can you name the animal that {pet.Name} is?", pet.Species, species);
            Add("facts", "pet_owner", pet.Name, rng.Chance(0.5) ? $"Do you remember who takes care of {pet.Name}?" : $"Can you name the person who owns {pet.Name}?", pet.Owner, firsts);
        }
        foreach (var c in world.Countries)
            Add("facts", "capital", c.Name, rng.Chance(0.5) ? $"Do you remember the capital of {c.Name}?" : $"Can you name the capital city of {c.Name}?", c.Capital, capitals);
        foreach (var t in world.Towns)
            Add("facts", "town_country", t.Name, rng.Chance(0.5) ? $"Do you remember the country where {t.Name} lies?" : $"Can you name the country that the town {t.Name} is in?", t.Country, countries);

        for (int i = 0; i < arithmetic; i++)
        {
            bool add = rng.Chance(0.5);
            int x, y, z;
            if (add) { x = rng.Range(0, 10); y = rng.Range(0, 10); z = x + y; }
            else { x = rng.Range(1, 20); y = rng.Range(0, x); z = x - y; }
            var pool = Enumerable.Range(Math.Max(0, z - 5), 11).Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            string q = add
                ? (rng.Chance(0.5) ? $"Do you remember what {x} plus {y} is?" : $"Can you name the number you get from {x} plus {y}?")
                : (rng.Chance(0.5) ? $"Do you remember what is left if you take {y} away from {x}?" : $"Can you name the number you get from {x} minus {y}?");
            Add("arithmetic", add ? "addition" : "subtraction", $"{x},{y}", q, z.ToString(System.Globalization.CultureInfo.InvariantCulture), pool);
        }
        return list;
    }
}
