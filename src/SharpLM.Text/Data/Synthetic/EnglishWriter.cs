// Plain-English renderings of the synthetic world: stories, encyclopedia entries, dialogues and
// arithmetic lessons. Each fact has several phrasings and the filler sentences vary, so the corpus
// reads like simple prose rather than one template. The phrasings here are disjoint from the ones in
// QuestionSet (checked by a test), so the questions test recall of a fact, not of a sentence.
namespace SharpLM.Text.Data.Synthetic;

/// <summary>The main content of one page: a title and paragraphs of plain text.</summary>
public sealed record Article(string Kind, string Title, IReadOnlyList<string> Paragraphs)
{
    /// <summary>The text an ideal extractor returns: title and paragraphs separated by blank lines.</summary>
    public string Text => Title + "\n\n" + string.Join("\n\n", Paragraphs);
}

/// <summary>Writes English articles about a <see cref="World"/>.</summary>
public sealed class EnglishWriter(World world)
{
    /// <summary>The kinds of English article, in the order <see cref="Write"/> draws them.</summary>
    public static readonly string[] Kinds = ["story", "person", "place", "country", "dialogue", "arithmetic", "quiz"];

    private static readonly double[] KindWeights = [0.22, 0.22, 0.09, 0.05, 0.20, 0.12, 0.10];

    /// <summary>One article of a random kind.</summary>
    public Article Write(ref SynthRng rng)
    {
        double u = rng.NextDouble();
        int k = 0;
        for (double acc = KindWeights[0]; k < Kinds.Length - 1 && u >= acc; acc += KindWeights[++k]) { }
        return Kinds[k] switch
        {
            "story" => Story(ref rng),
            "person" => PersonEntry(ref rng),
            "place" => PlaceEntry(ref rng),
            "country" => CountryEntry(ref rng),
            "dialogue" => Dialogue(ref rng),
            "arithmetic" => ArithmeticLesson(ref rng),
            _ => Quiz(ref rng),
        };
    }

    // ---- fact sentences -------------------------------------------------------------------------

    private string CountryOf(Person p) => world.TownNamed(p.Town).Country;

    private Person Other(Person p, ref SynthRng rng)
    {
        var q = rng.Pick(world.People);
        return q != p ? q : world.People[(world.People.IndexOf(p) + 1) % world.People.Count];
    }

    private string Name(Person p, ref SynthRng rng) => rng.Chance(0.3) ? p.FullName : p.First;

    internal string Residence(Person p, ref SynthRng rng)
    {
        string n = Name(p, ref rng);
        return rng.Next(9) switch
        {
            0 => $"{n} lives in {p.Town}.",
            6 => $"{p.Town} is where {n} lives.",
            7 => $"If you go to {p.Town}, you may meet {n}, who lives there.",
            8 => $"In the town of {p.Town} lives {n}.",
            1 => $"{n} lives in {p.Town}, a town in {CountryOf(p)}.",
            2 => $"{n} has a small house in {p.Town}.",
            3 => $"{n} was born in {p.Town} and has lived there ever since.",
            4 => $"The home of {n} is in {p.Town}.",
            _ => $"{n} and {p.His} family live in {p.Town}.",
        };
    }

    internal string Trade(Person p, ref SynthRng rng)
    {
        string n = Name(p, ref rng);
        return rng.Next(8) switch
        {
            0 => $"{n} is {Lexicon.A(p.Job)} {p.Job}.",
            5 => $"The job of {n} is the work of {Lexicon.A(p.Job)} {p.Job}.",
            6 => $"Ask anyone in {p.Town} and they will tell you that {n} is {Lexicon.A(p.Job)} {p.Job}.",
            7 => $"{Lexicon.Cap(Lexicon.A(p.Job))} {p.Job} by trade, {n} works hard every day.",
            1 => $"{n} works as {Lexicon.A(p.Job)} {p.Job}.",
            2 => $"By day, {n} works as {Lexicon.A(p.Job)} {p.Job} in {p.Town}.",
            3 => $"Everyone in {p.Town} knows {n}, the {p.Job}.",
            _ => $"{n} has been {Lexicon.A(p.Job)} {p.Job} for many years.",
        };
    }

    internal string Colour(Person p, ref SynthRng rng)
    {
        string n = Name(p, ref rng);
        return rng.Next(8) switch
        {
            0 => $"{n}'s favourite colour is {p.Colour}.",
            5 => $"{Lexicon.Cap(p.Colour)} is the colour that {n} loves most.",
            6 => $"The favourite colour of {n} is {p.Colour}.",
            7 => $"Ask {n} about colours, and {p.He} will say {p.Colour} every time.",
            1 => $"{n} loves the colour {p.Colour}.",
            2 => $"{n} likes {p.Colour} more than any other colour.",
            3 => $"Of all the colours, {n} likes {p.Colour} best.",
            _ => $"{n} often wears something {p.Colour}, because {p.Colour} is {p.His} favourite colour.",
        };
    }

    internal string PetSentence(Person p, ref SynthRng rng)
    {
        var pet = world.PetNamed(p.PetName);
        string n = Name(p, ref rng);
        return rng.Next(8) switch
        {
            0 => $"{n} has {Lexicon.A(pet.Colour)} {pet.Colour} {pet.Species} called {pet.Name}.",
            5 => $"{n}'s pet is {Lexicon.A(pet.Species)} {pet.Species} called {pet.Name}.",
            6 => $"The {pet.Species} {pet.Name} belongs to {n}.",
            7 => $"{pet.Name} is {Lexicon.A(pet.Species)} {pet.Species}, and {n} is {pet.Name}'s owner.",
            1 => $"{n} has a pet {pet.Species} named {pet.Name}.",
            2 => $"{pet.Name} is {n}'s {pet.Species}.",
            3 => $"{pet.Name}, the {pet.Colour} {pet.Species}, lives with {n}.",
            _ => $"{n} takes good care of {pet.Name}, {p.His} {pet.Colour} {pet.Species}.",
        };
    }

    internal string CountSentence(Person p, ref SynthRng rng)
    {
        string n = Name(p, ref rng);
        string c = Lexicon.Number(p.Count);
        return rng.Next(6) switch
        {
            0 => $"{n} has {c} {p.CountedThing}.",
            4 => $"There are {c} {p.CountedThing} in the house of {n}.",
            5 => $"{n} has exactly {c} {p.CountedThing}, no more and no less.",
            1 => $"{n} owns {c} {p.CountedThing}.",
            2 => $"In {p.His} house, {n} keeps {c} {p.CountedThing}.",
            _ => $"{n} counted {p.His} {p.CountedThing} this morning, and there were {c}.",
        };
    }

    internal static string Capital(Country c, ref SynthRng rng) => rng.Next(6) switch
    {
        4 => $"In {c.Name}, the capital is {c.Capital}.",
        5 => $"{c.Capital} is the capital city of {c.Name}.",
        0 => $"{c.Capital} is the capital of {c.Name}.",
        1 => $"The capital of {c.Name} is {c.Capital}.",
        2 => $"{c.Capital}, the capital city of {c.Name}, is the largest town there.",
        _ => $"The king of {c.Name} lives in {c.Capital}, the capital.",
    };

    internal static string TownIn(Town t, ref SynthRng rng) => rng.Next(6) switch
    {
        4 => $"In {t.Country} there is a town called {t.Name}.",
        5 => $"{t.Name} belongs to {t.Country}.",
        0 => $"{t.Name} is a town in {t.Country}.",
        1 => $"{t.Name} lies in {t.Country}.",
        2 => $"The town {t.Name} is in {t.Country}.",
        _ => $"{t.Name} is in the country of {t.Country}, and it has {t.Landmark}.",
    };

    private string AnyFact(Person p, ref SynthRng rng) => rng.Next(5) switch
    {
        0 => Residence(p, ref rng),
        1 => Trade(p, ref rng),
        2 => Colour(p, ref rng),
        3 => PetSentence(p, ref rng),
        _ => CountSentence(p, ref rng),
    };

    // ---- filler ---------------------------------------------------------------------------------

    private static readonly string[] Weather =
        ["It was a bright and sunny morning.", "The sky was grey and it was raining softly.", "A cold wind blew through the streets.",
         "The air was warm and the birds were singing.", "Snow had fallen in the night, and everything was white.",
         "It was a calm evening, and the sun was going down."];
    private static readonly string[] Foods = ["bread", "apples", "cheese", "soup", "honey", "pears", "eggs", "fish", "carrots", "plums"];
    private static readonly string[] Countables = ["apples", "pears", "eggs", "carrots", "plums", "biscuits", "cherries", "buttons", "shells", "marbles"];
    private static readonly string[] Feelings = ["happy", "tired", "excited", "hungry", "calm", "curious", "proud", "sleepy"];

    private const int EventKinds = 15;

    private string Event(Person p, Person q, ref SynthRng rng, int kind = -1)
    {
        var town = world.TownNamed(p.Town);
        string food = rng.Pick(Foods);
        return (kind >= 0 ? kind : rng.Next(EventKinds)) switch
        {
            0 => $"{p.First} walked to the market to buy some {food}.",
            1 => $"On the way, {p.First} met {q.First} near {town.Landmark}.",
            2 => $"{p.First} and {q.First} talked about the weather and laughed.",
            3 => $"In the evening, {p.First} cooked {food} for {p.His} friends.",
            4 => $"{Lexicon.Cap(p.He)} felt {rng.Pick(Feelings)} and sat down to rest.",
            5 => $"{q.First} asked {p.First} for help, and {p.He} said yes at once.",
            6 => $"They shared some {food} and told old stories until it was late.",
            7 => $"{p.First} wrote a long letter to {q.First}.",
            8 => $"After lunch, {p.First} went for a walk with {p.PetName}.",
            9 => $"{q.First} came to visit, and {p.First} made a pot of tea.",
            10 => $"The two friends sat by {town.Landmark} and watched the people go by.",
            11 => $"{p.First} and {q.First} worked together in the garden until the sun went down.",
            12 => $"{p.First} found an old map in a box and showed it to {q.First}.",
            13 => $"{q.First} could not remember the name of {p.First}'s pet, so {p.First} said it again: {p.PetName}.",
            _ => $"{p.First} smiled, because it had been a good day.",
        };
    }

    // ---- article kinds --------------------------------------------------------------------------

    internal Article Story(ref SynthRng rng)
    {
        var p = rng.Pick(world.People);
        var q = Other(p, ref rng);
        var town = world.TownNamed(p.Town);
        var paras = new List<string>();
        string open = rng.Next(4) switch
        {
            0 => $"Once upon a time, in a town called {p.Town}, there was {Lexicon.A(p.Job)} {p.Job} named {p.First}.",
            1 => $"This is a story about {p.FullName}. {Trade(p, ref rng)}",
            2 => $"{rng.Pick(Weather)} {p.First} opened the door and looked out at {p.Town}.",
            _ => $"Not long ago, {p.FullName} lived a quiet life in {p.Town}, near {town.Landmark}.",
        };
        paras.Add(open + " " + Residence(p, ref rng) + " " + Colour(p, ref rng));
        // Every event and every fact at most once per story: repeated sentences are what repetition filters
        // (Gopher's duplicated n-grams) remove, and good prose does not repeat itself.
        var pool = new List<string>();
        var kinds = Enumerable.Range(0, EventKinds).ToList();
        rng.Shuffle(kinds);
        foreach (int k in kinds.Take(rng.Range(8, 12)))
        {
            bool first = rng.Chance(0.6);
            pool.Add(first ? Event(p, q, ref rng, k) : Event(q, p, ref rng, k));
        }
        pool.Add(Trade(p, ref rng));
        pool.Add(PetSentence(p, ref rng));
        pool.Add(CountSentence(p, ref rng));
        pool.Add(Residence(q, ref rng));
        pool.Add(Trade(q, ref rng));
        pool.Add(Colour(q, ref rng));
        pool.Add(PetSentence(q, ref rng));
        rng.Shuffle(pool);
        var weather = rng.Sample(Weather, 2);
        int per = rng.Range(4, 6);
        for (int i = 0; i < pool.Count; i += per)
        {
            var sb = new List<string>();
            if (i / per < weather.Count && rng.Chance(0.5)) sb.Add(weather[i / per]);
            sb.AddRange(pool.Skip(i).Take(per));
            paras.Add(string.Join(" ", sb));
        }
        paras.Add(rng.Next(3) switch
        {
            0 => $"And so {p.First} went to bed, with {p.PetName} asleep at the end of the bed.",
            1 => $"The next day, {p.First} and {q.First} met again, as good friends do.",
            _ => $"That was the day {p.First} would remember for a long time.",
        });
        string title = rng.Next(3) switch
        {
            0 => $"{p.First} and {q.First}",
            1 => $"A day in {p.Town}",
            _ => $"The story of {p.First} and {p.PetName}",
        };
        return new Article("story", title, paras);
    }

    internal Article PersonEntry(ref SynthRng rng)
    {
        var p = rng.Pick(world.People);
        var country = CountryOf(p);
        var pet = world.PetNamed(p.PetName);
        var paras = new List<string>
        {
            $"{p.FullName} is {Lexicon.A(p.Job)} {p.Job} from {p.Town}, a town in {country}. " + Residence(p, ref rng) + " " + Trade(p, ref rng),
            "Personal life. " + Colour(p, ref rng) + " " + PetSentence(p, ref rng) + $" {pet.Name} is {Lexicon.A(pet.Colour)} {pet.Colour} {pet.Species}. " + CountSentence(p, ref rng),
        };
        var friend = rng.Pick(world.People);
        if (friend != p)
            paras.Add($"Friends. {p.First} is a good friend of {friend.FullName}. " + Trade(friend, ref rng) + " " + Residence(friend, ref rng));
        var daily = new List<string>();
        int events = rng.Range(4, 7);
        for (int i = 0; i < events; i++) daily.Add(Event(p, Other(p, ref rng), ref rng));
        paras.Add("Daily life. " + string.Join(" ", daily));
        paras.Add("Work. " + rng.Next(3) switch
        {
            0 => $"As {Lexicon.A(p.Job)} {p.Job}, {p.First} starts work early every day. " + Trade(p, ref rng),
            1 => $"People come from all over {country} to see {p.First} at work. " + Trade(p, ref rng),
            _ => $"{p.First} learned the work of {Lexicon.A(p.Job)} {p.Job} as a child. " + Trade(p, ref rng),
        });
        paras.Add("See also. " + TownIn(world.TownNamed(p.Town), ref rng) + " " + Capital(world.CountryNamed(country), ref rng));
        return new Article("person", p.FullName, paras);
    }

    internal Article PlaceEntry(ref SynthRng rng)
    {
        var t = rng.Pick(world.Towns);
        var c = world.CountryNamed(t.Country);
        var locals = world.People.Where(p => p.Town == t.Name).ToList();
        var paras = new List<string>
        {
            TownIn(t, ref rng) + $" It is known for {t.Landmark}. " + (c.Capital == t.Name ? $"{t.Name} is the capital of {c.Name}." : Capital(c, ref rng)),
        };
        if (locals.Count > 0)
        {
            var lines = new List<string> { $"People. Many people live in {t.Name}." };
            foreach (var p in locals)
                lines.Add(rng.Chance(0.5) ? $"{p.FullName} lives in {t.Name} and works as {Lexicon.A(p.Job)} {p.Job}." : Residence(p, ref rng) + " " + Trade(p, ref rng));
            paras.Add(string.Join(" ", lines));
        }
        var two = rng.Sample(Foods, 2);
        paras.Add("Life in the town. " + rng.Pick(Weather) + $" On market day the streets of {t.Name} are full of people buying {two[0]} and {two[1]}. " +
                  $"Children play near {t.Landmark}, and old people sit in the sun.");
        return new Article("place", t.Name, paras);
    }

    internal Article CountryEntry(ref SynthRng rng)
    {
        var c = rng.Pick(world.Countries);
        var towns = world.Towns.Where(t => t.Country == c.Name).ToList();
        var paras = new List<string>
        {
            $"{c.Name} is a small country. " + Capital(c, ref rng),
        };
        var townLines = new List<string>();
        foreach (var t in towns) townLines.Add(TownIn(t, ref rng));
        paras.Add("Towns. " + string.Join(" ", townLines));
        var people = world.People.Where(p => towns.Any(t => t.Name == p.Town)).ToList();
        if (people.Count > 0)
        {
            var p = rng.Pick(people);
            paras.Add($"People. One well-known person from {c.Name} is {p.FullName}. " + Residence(p, ref rng) + " " + Trade(p, ref rng));
        }
        var two = rng.Sample(Foods, 2);
        paras.Add($"Life in {c.Name}. " + rng.Pick(Weather) + $" The people of {c.Name} like to eat {two[0]} and {two[1]}, and on holidays they sing old songs together. " +
                  $"A long road runs from {towns[0].Name} to {towns[^1].Name}, and many travellers walk along it in the summer.");
        return new Article("country", c.Name, paras);
    }

    internal Article Dialogue(ref SynthRng rng)
    {
        var a = rng.Pick(world.People);
        var b = Other(a, ref rng);
        var bPet = world.PetNamed(b.PetName);
        var lines = new List<string>
        {
            $"{a.First}: Good {rng.Pick(new[] { "morning", "afternoon", "evening" })}, {b.First}! How are you?",
            $"{b.First}: I am {rng.Pick(Feelings)}, thank you. And you?",
            $"{a.First}: Very well. How is {bPet.Name}?",
            $"{b.First}: {bPet.Name} is fine. You know {bPet.Name} is my {bPet.Colour} {bPet.Species}.",
        };
        var topics = rng.Sample(new[] { 0, 1, 2, 3, 4, 5, 6, 7 }, rng.Range(4, 7));
        foreach (int topic in topics)
        {
            switch (topic)
            {
                case 0:
                    lines.Add($"{a.First}: Are you still in {b.Town}?");
                    lines.Add($"{b.First}: Yes, I still live in {b.Town}. I like it there.");
                    break;
                case 1:
                    lines.Add($"{a.First}: What do you do these days?");
                    lines.Add($"{b.First}: I am {Lexicon.A(b.Job)} {b.Job}, like before.");
                    break;
                case 2:
                    lines.Add($"{a.First}: That is a nice {b.Colour} coat.");
                    lines.Add($"{b.First}: Thank you! {Lexicon.Cap(b.Colour)} is my favourite colour.");
                    break;
                case 3:
                    lines.Add($"{a.First}: How many {b.CountedThing} do you have now?");
                    lines.Add($"{b.First}: I have {Lexicon.Number(b.Count)} {b.CountedThing}.");
                    break;
                case 4:
                    var bTown = world.TownNamed(b.Town);
                    lines.Add($"{a.First}: What is new in {b.Town}?");
                    lines.Add($"{b.First}: Not much. People still meet by {bTown.Landmark}. {b.Town} is a quiet town in {bTown.Country}.");
                    break;
                case 5:
                    var c = world.CountryNamed(world.TownNamed(b.Town).Country);
                    lines.Add($"{a.First}: Have you been to {c.Capital} this year?");
                    lines.Add($"{b.First}: Yes, I went to {c.Capital}. It is the capital of {c.Name}, so it is always busy.");
                    break;
                case 6:
                    lines.Add($"{a.First}: {rng.Pick(Weather)}");
                    lines.Add($"{b.First}: Yes, it is. I went for a walk with {bPet.Name} this morning.");
                    break;
                default:
                    lines.Add($"{a.First}: My {a.CountedThing} are all over the house. I have {Lexicon.Number(a.Count)} of them now.");
                    lines.Add($"{b.First}: {Lexicon.Cap(Lexicon.Number(a.Count))} {a.CountedThing}! That is a lot.");
                    break;
            }
        }
        lines.Add($"{a.First}: I live in {a.Town}, and I am {Lexicon.A(a.Job)} {a.Job}. Come and visit me.");
        lines.Add($"{b.First}: I will. Goodbye, {a.First}!");
        string title = rng.Chance(0.5) ? $"A talk between {a.First} and {b.First}" : $"{a.First} meets {b.First}";
        return new Article("dialogue", title, lines);
    }

    // Quiz pages: question/answer pairs in the lm-evaluation-harness frame ("Question: …" on one line, "Answer: …" on
    // the next), with many wordings per fact type (direct questions, "Do you know …", "Can you tell me …", the entity
    // first, …) so that a model learns to pull a fact out of a question whatever its form, and is tested on forms it has
    // never seen (QuestionSet). The answer comes first on its line, then a sentence that restates the fact: an answer
    // line needs at least three words to survive C4's line rule, which drops shorter lines.
    internal Article Quiz(ref SynthRng rng)
    {
        var p = rng.Pick(world.People);
        var town = world.TownNamed(p.Town);
        var people = new List<Person> { p, Other(p, ref rng), Other(p, ref rng) };
        var paras = new List<string>
        {
            rng.Next(3) switch
            {
                0 => $"How well do you know the people of {town.Name} and their friends? Read each question, think of the answer, and then check it on the line below. " +
                     "There are no tricks in this quiz, and every answer starts with a single word or a number.",
                1 => $"Here is a new quiz about {p.First} and the people {p.He} knows. Write your name at the top of a page, try to answer each question " +
                     "before you read the answer under it, and keep count of how many you get right.",
                _ => $"This week our quiz is about {town.Name} and the people who live near it. Cover the answers with your hand, read each question, " +
                     "and say your answer out loud before you look.",
            },
        };
        int n = rng.Range(8, 12);
        for (int i = 0; i < n; i++)
        {
            var who = people[rng.Next(people.Count)];
            var (q, a, why) = rng.Next(9) == 8 ? Sum(ref rng) : QuizFact(who, rng.Next(8), ref rng);
            // Distinct questions and answers: a repeated line is what duplicate-line filters (FineWeb) remove.
            string answer = $"Answer: {a}. {why}";
            if (paras.Contains("Question: " + q) || paras.Any(x => x.StartsWith("Answer: " + a + ".", StringComparison.Ordinal))) continue;
            paras.Add("Question: " + q);
            paras.Add(answer);
        }
        paras.Add(rng.Chance(0.5) ? "How many did you get right? Share this quiz with your friends and see who knows the most." : "Well done if you knew them all! A new quiz comes out every week.");
        return new Article("quiz", rng.Chance(0.5) ? $"Quiz: the people of {town.Name}" : $"A small quiz about {p.First} and friends", paras);

        static (string, string, string) Sum(ref SynthRng rng)
        {
            int x = rng.Range(0, 10), y = rng.Range(0, 10), z = x + y;
            string Num(int v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return rng.Next(6) switch
            {
                0 => ($"How much do you get from {x} plus {y}?", Num(z), $"{x} plus {y} is {z}."),
                1 => ($"What is {x} plus {y}?", Num(z), $"If you add {y} to {x}, you get {z}."),
                2 => ($"Do you know what {x} plus {y} makes?", Num(z), $"{x} + {y} = {z}."),
                3 => ($"How much do you get from {z} minus {y}?", Num(x), $"{z} minus {y} is {x}."),
                4 => ($"What is left if you take {y} away from {z}?", Num(x), $"{z} - {y} = {x}."),
                _ => ($"Can you tell me what {z} minus {y} is?", Num(x), $"If you take {y} away from {z}, you get {x}."),
            };
        }
    }

    /// <summary>Number of question wordings per fact type on quiz pages.</summary>
    internal const int QuizWordings = 7;

    /// <summary>
    /// A quiz question about one fact of <paramref name="who"/> (fact type 0..7: residence, trade, colour, count, pet species,
    /// pet owner, capital of the home country, country of the home town), its one-word answer and a sentence restating the fact.
    /// <paramref name="form"/> picks the wording (0..<see cref="QuizWordings"/>-1), or -1 for a random one; <paramref name="fullName"/>
    /// the person's name (null: drawn as in statements).
    /// </summary>
    internal (string Question, string Answer, string Why) QuizFact(Person who, int kind, ref SynthRng rng, int form = -1, bool? fullName = null)
    {
        string n = fullName switch { true => who.FullName, false => who.First, null => Name(who, ref rng) };
        int f = form >= 0 ? form : rng.Next(QuizWordings);
        var pet = world.PetNamed(who.PetName);
        var t = world.TownNamed(who.Town);
        var c = world.CountryNamed(t.Country);
        return kind switch
        {
            0 => (f switch
            {
                0 => $"Where does {n} live these days?",
                1 => $"In which town does {n} live?",
                2 => $"What town does {n} live in?",
                3 => $"Which town is the home of {n}?",
                4 => $"{n} lives in which town?",
                5 => $"Do you know where {n} lives?",
                _ => $"Can you tell me which town {n} lives in?",
            }, who.Town, Residence(who, ref rng)),
            1 => (f switch
            {
                0 => $"What job does {n} do every day?",
                1 => $"What does {n} do for work?",
                2 => $"What work does {n} do?",
                3 => $"Which job does {n} have?",
                4 => $"{n} works as what?",
                5 => $"Do you know what job {n} does?",
                _ => $"Can you tell me the job of {n}?",
            }, who.Job, Trade(who, ref rng)),
            2 => (f switch
            {
                0 => $"What is the favourite colour of {n}?",
                1 => $"Which colour does {n} like best?",
                2 => $"What colour does {n} love?",
                3 => $"What is {n}'s favourite colour?",
                4 => $"{n} likes which colour best?",
                5 => $"Do you know the favourite colour of {n}?",
                _ => $"Can you tell me which colour {n} loves?",
            }, who.Colour, Colour(who, ref rng)),
            3 => (f switch
            {
                0 => $"How many {who.CountedThing} does {n} have at home?",
                1 => $"How many {who.CountedThing} does {n} own?",
                2 => $"What number of {who.CountedThing} does {n} keep?",
                3 => $"How many {who.CountedThing} are in the house of {n}?",
                4 => $"{n} has how many {who.CountedThing}?",
                5 => $"Do you know how many {who.CountedThing} {n} has?",
                _ => $"Can you tell me how many {who.CountedThing} {n} owns?",
            }, Lexicon.Number(who.Count), CountSentence(who, ref rng)),
            4 => (f switch
            {
                0 => $"What animal is {pet.Name}, the pet of {n}?",
                1 => $"What animal is {pet.Name}?",
                2 => $"What sort of pet is {pet.Name}?",
                3 => $"Which animal is {pet.Name}?",
                4 => $"{pet.Name} is what animal?",
                5 => $"Do you know what animal {pet.Name} is?",
                _ => $"Can you tell me what pet {pet.Name} is?",
            }, pet.Species, PetSentence(who, ref rng)),
            5 => (f switch
            {
                0 => $"Who owns the {pet.Colour} {pet.Species} called {pet.Name}?",
                1 => $"Who owns {pet.Name}?",
                2 => $"Whose pet is {pet.Name}?",
                3 => $"Who takes good care of {pet.Name}?",
                4 => $"{pet.Name} lives with which person?",
                5 => $"Do you know who owns {pet.Name}?",
                _ => $"Can you tell me whose pet {pet.Name} is?",
            }, who.First, PetSentence(who, ref rng)),
            6 => (f switch
            {
                0 => $"What is the capital city of {c.Name}?",
                1 => $"What is the capital of {c.Name}?",
                2 => $"Which town is the capital of {c.Name}?",
                3 => $"Where does the king of {c.Name} live?",
                4 => $"The capital of {c.Name} is which city?",
                5 => $"Do you know the capital of {c.Name}?",
                _ => $"Can you tell me the capital city of {c.Name}?",
            }, c.Capital, Capital(c, ref rng)),
            _ => (f switch
            {
                0 => $"In what country is the town {t.Name}?",
                1 => $"Which country is {t.Name} in?",
                2 => $"In which country does {t.Name} lie?",
                3 => $"What country is the town {t.Name} in?",
                4 => $"{t.Name} is a town in which country?",
                5 => $"Do you know the country of {t.Name}?",
                _ => $"Can you tell me which country {t.Name} is in?",
            }, t.Country, TownIn(t, ref rng)),
        };
    }

    internal Article ArithmeticLesson(ref SynthRng rng)
    {
        bool add = rng.Chance(0.6);
        int lesson = rng.Range(1, 30);
        var paras = new List<string>
        {
            add ? "In this lesson we practise adding small numbers. Read each line and say it out loud."
                : "In this lesson we practise subtracting small numbers. Read each line and say it out loud.",
        };
        // Each wording once per lesson (three problems), so the page does not repeat its own sentences.
        var order = new List<int> { 0, 1, 2 };
        rng.Shuffle(order);
        foreach (int form in order)
        {
            var p = rng.Pick(world.People);
            var q = Other(p, ref rng);
            string food = rng.Pick(Countables);
            // Mostly words, with one short clause in digits: arithmetic pages must still read as prose to
            // quality rules (Gopher's alphabetic-word ratio and mean word length).
            if (add)
            {
                int x = rng.Range(0, 10), y = rng.Range(0, 10), z = x + y;
                string xw = Lexicon.Number(x), yw = Lexicon.Number(y), zw = Lexicon.Number(z);
                paras.Add(form switch
                {
                    0 => $"{p.First} has {xw} {food} in a basket. {q.First} comes to visit and gives {p.Him} {yw} more, so now {p.First} has {zw} {food} in the basket. In other words, {x} plus {y} is {z}.",
                    1 => $"{Lexicon.Cap(xw)} plus {yw} is {zw}. Think of {xw} {food} on a table, and then put {yw} more {food} next to them: there are {zw} {food} on the table now. With digits, {x} + {y} = {z}.",
                    _ => $"If you add {yw} to {xw}, you get {zw}. {p.First} checks it by counting the {food} one by one, and the answer is always {zw}. So {x} plus {y} is {z}.",
                });
            }
            else
            {
                int x = rng.Range(1, 20), y = rng.Range(0, x), z = x - y;
                string xw = Lexicon.Number(x), yw = Lexicon.Number(y), zw = Lexicon.Number(z);
                paras.Add(form switch
                {
                    0 => $"{p.First} had {xw} {food} and gave {yw} of them to {q.First}. Now {p.He} has {zw} {food} left, and {q.First} is very happy. In other words, {x} minus {y} is {z}.",
                    1 => $"{Lexicon.Cap(xw)} minus {yw} is {zw}. Think of {xw} {food} in a bowl, and then take {yw} of them out: there are {zw} {food} left in the bowl. With digits, {x} - {y} = {z}.",
                    _ => $"If you take {yw} away from {xw}, you get {zw}. {p.First} checks it by counting the {food} that are left, and the answer is always {zw}. So {x} minus {y} is {z}.",
                });
            }
        }
        paras.Add(rng.Chance(0.5) ? "Well done! Practise these every day and they will become easy." : "Good work. Next time we will try bigger numbers.");
        return new Article("arithmetic", $"Lesson {lesson}: {(add ? "Adding" : "Taking away")}", paras);
    }
}
