// Pages of the synthetic crawl in languages other than English (German, French, Spanish, Italian,
// Dutch): short articles about the same world from simple templates, so a language filter has
// something realistic to remove (same names, different function words). Not translations of
// English pages and not meant to be fluent beyond a few sentence shapes.
namespace SharpLM.Text.Data.Synthetic;

/// <summary>Writes short articles about a <see cref="World"/> in other languages.</summary>
public sealed class ForeignWriter(World world)
{
    /// <summary>ISO 639-1 codes of the languages written.</summary>
    public static readonly string[] Languages = ["de", "fr", "es", "it", "nl"];

    private static readonly Dictionary<string, string[]> ColourWords = new()
    {
        ["de"] = ["rot", "blau", "grün", "gelb", "lila", "orange", "weiß", "schwarz", "grau", "braun"],
        ["fr"] = ["rouge", "bleu", "vert", "jaune", "violet", "orange", "blanc", "noir", "gris", "marron"],
        ["es"] = ["rojo", "azul", "verde", "amarillo", "morado", "naranja", "blanco", "negro", "gris", "marrón"],
        ["it"] = ["rosso", "blu", "verde", "giallo", "viola", "arancione", "bianco", "nero", "grigio", "marrone"],
        ["nl"] = ["rood", "blauw", "groen", "geel", "paars", "oranje", "wit", "zwart", "grijs", "bruin"],
    };

    private static readonly Dictionary<string, string[]> SpeciesWords = new()
    {
        ["de"] = ["eine Katze", "einen Hund", "ein Kaninchen", "einen Papagei", "ein Pferd", "eine Ziege", "eine Schildkröte", "einen Hamster", "eine Ente", "ein Pony"],
        ["fr"] = ["un chat", "un chien", "un lapin", "un perroquet", "un cheval", "une chèvre", "une tortue", "un hamster", "un canard", "un poney"],
        ["es"] = ["un gato", "un perro", "un conejo", "un loro", "un caballo", "una cabra", "una tortuga", "un hámster", "un pato", "un poni"],
        ["it"] = ["un gatto", "un cane", "un coniglio", "un pappagallo", "un cavallo", "una capra", "una tartaruga", "un criceto", "un'anatra", "un pony"],
        ["nl"] = ["een kat", "een hond", "een konijn", "een papegaai", "een paard", "een geit", "een schildpad", "een hamster", "een eend", "een pony"],
    };

    private static readonly Dictionary<string, string[]> Filler = new()
    {
        ["de"] = ["Heute ist das Wetter sehr schön.", "Am Morgen trinkt man gern einen Kaffee.", "Die Kinder spielen im Garten.",
                  "Auf dem Markt gibt es frisches Brot und Käse.", "Am Abend gehen viele Leute spazieren.", "Das Leben in der Stadt ist ruhig und angenehm."],
        ["fr"] = ["Aujourd'hui, il fait très beau.", "Le matin, on boit volontiers un café.", "Les enfants jouent dans le jardin.",
                  "Au marché, il y a du pain frais et du fromage.", "Le soir, beaucoup de gens se promènent.", "La vie dans la ville est calme et agréable."],
        ["es"] = ["Hoy hace muy buen tiempo.", "Por la mañana, la gente toma un café.", "Los niños juegan en el jardín.",
                  "En el mercado hay pan fresco y queso.", "Por la tarde, mucha gente sale a pasear.", "La vida en el pueblo es tranquila y agradable."],
        ["it"] = ["Oggi il tempo è molto bello.", "La mattina si beve volentieri un caffè.", "I bambini giocano nel giardino.",
                  "Al mercato c'è pane fresco e formaggio.", "La sera molte persone vanno a passeggiare.", "La vita in città è tranquilla e piacevole."],
        ["nl"] = ["Vandaag is het heel mooi weer.", "In de ochtend drinken de mensen graag koffie.", "De kinderen spelen in de tuin.",
                  "Op de markt is er vers brood en kaas.", "In de avond gaan veel mensen wandelen.", "Het leven in de stad is rustig en aangenaam."],
    };

    /// <summary>One article in <paramref name="lang"/> (one of <see cref="Languages"/>).</summary>
    public Article Write(string lang, ref SynthRng rng)
    {
        var paras = new List<string>();
        var first = rng.Pick(world.People);
        int n = rng.Range(2, 4);
        for (int i = 0; i < n; i++)
        {
            var p = i == 0 ? first : rng.Pick(world.People);
            var sentences = new List<string>
            {
                Residence(lang, p), ColourOf(lang, p), PetOf(lang, p), rng.Pick(Filler[lang]), rng.Pick(Filler[lang]),
            };
            var c = world.CountryNamed(world.TownNamed(p.Town).Country);
            sentences.Add(CapitalOf(lang, c));
            rng.Shuffle(sentences);
            paras.Add(string.Join(" ", sentences));
        }
        return new Article("foreign", first.FullName, paras);
    }

    private static string Residence(string lang, Person p) => lang switch
    {
        "de" => $"{p.First} wohnt in {p.Town} und arbeitet dort jeden Tag.",
        "fr" => $"{p.First} habite à {p.Town} et travaille là-bas tous les jours.",
        "es" => $"{p.First} vive en {p.Town} y trabaja allí todos los días.",
        "it" => $"{p.First} abita a {p.Town} e lavora lì ogni giorno.",
        _ => $"{p.First} woont in {p.Town} en werkt daar elke dag.",
    };

    private static string ColourOf(string lang, Person p)
    {
        string c = ColourWords[lang][Array.IndexOf(Lexicon.Colours, p.Colour)];
        return lang switch
        {
            "de" => $"Die Lieblingsfarbe von {p.First} ist {c}.",
            "fr" => $"La couleur préférée de {p.First} est le {c}.",
            "es" => $"El color favorito de {p.First} es el {c}.",
            "it" => $"Il colore preferito di {p.First} è il {c}.",
            _ => $"De lievelingskleur van {p.First} is {c}.",
        };
    }

    private string PetOf(string lang, Person p)
    {
        var pet = world.PetNamed(p.PetName);
        string s = SpeciesWords[lang][Array.IndexOf(Lexicon.Species, pet.Species)];
        return lang switch
        {
            "de" => $"{p.First} hat {s}, die oder der {pet.Name} heißt.",
            "fr" => $"{p.First} a {s} qui s'appelle {pet.Name}.",
            "es" => $"{p.First} tiene {s} que se llama {pet.Name}.",
            "it" => $"{p.First} ha {s} che si chiama {pet.Name}.",
            _ => $"{p.First} heeft {s} die {pet.Name} heet.",
        };
    }

    private static string CapitalOf(string lang, Country c) => lang switch
    {
        "de" => $"Die Hauptstadt von {c.Name} ist {c.Capital}.",
        "fr" => $"La capitale de {c.Name} est {c.Capital}.",
        "es" => $"La capital de {c.Name} es {c.Capital}.",
        "it" => $"La capitale di {c.Name} è {c.Capital}.",
        _ => $"De hoofdstad van {c.Name} is {c.Capital}.",
    };
}
