using System.Data.Common;
using Akka.Configuration;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Dmuc.Actors.Placement;

/// <summary>
/// A lease in the rooms' own journal database: one row with an owner and an expiry. Whoever holds it may down the
/// primary-capable nodes it cannot reach (<see cref="PrimaryDowning"/>); whoever cannot take it downs itself. A node that
/// cannot reach the database cannot write its rooms either, so the side of a split that has the database is the one to keep.
/// Akka.Coordination has no PostgreSQL lease, and this needs only one statement, which PostgreSQL and SQLite both run.
/// </summary>
/// <remarks>Expiry is the taker's wall clock: the nodes' clocks must agree within a small part of the lease's lifetime.</remarks>
public sealed class PrimaryLease(Func<DbConnection> connect, string name, TimeSpan lifetime)
{
    private const string CreateTable =
        "CREATE TABLE IF NOT EXISTS dmuc_lease (name VARCHAR(255) PRIMARY KEY, owner VARCHAR(512) NOT NULL, expires_at BIGINT NOT NULL)";

    // Taken when free, expired, or already ours (then renewed); a row held by another owner and not expired is left alone.
    private const string Take = """
        INSERT INTO dmuc_lease (name, owner, expires_at) VALUES (@name, @owner, @expires)
        ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
        WHERE dmuc_lease.owner = excluded.owner OR dmuc_lease.expires_at < @now
        """;

    public string Name => name;

    /// <summary>The lease of the journal configured in <paramref name="config"/> (<c>akka.persistence.journal.sql</c>).</summary>
    public static PrimaryLease FromJournal(Config config, string name, TimeSpan lifetime)
    {
        var connection = config.GetString("akka.persistence.journal.sql.connection-string");
        var provider = config.GetString("akka.persistence.journal.sql.provider-name");
        if (string.IsNullOrEmpty(connection))
            throw new ConfigurationException("the primary lease lives in the journal's database, and no SQL journal is configured");
        return provider.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase)
            ? new PrimaryLease(() => new SqliteConnection(connection), name, lifetime)
            : new PrimaryLease(() => new NpgsqlConnection(connection), name, lifetime);
    }

    /// <summary>Takes or renews the lease for <paramref name="owner"/>; false when another owner holds it.</summary>
    public async Task<bool> TryTakeAsync(string owner, DateTimeOffset now, CancellationToken cancel = default)
    {
        await using var connection = connect();
        await connection.OpenAsync(cancel);
        await using (var create = connection.CreateCommand())
        {
            create.CommandText = CreateTable;
            await create.ExecuteNonQueryAsync(cancel);
        }
        await using var take = connection.CreateCommand();
        take.CommandText = Take;
        Add(take, "name", name);
        Add(take, "owner", owner);
        Add(take, "expires", (now + lifetime).ToUnixTimeMilliseconds());
        Add(take, "now", now.ToUnixTimeMilliseconds());
        return await take.ExecuteNonQueryAsync(cancel) == 1;
    }

    private static void Add(DbCommand command, string parameter, object value)
    {
        var added = command.CreateParameter();
        added.ParameterName = "@" + parameter;
        added.Value = value;
        command.Parameters.Add(added);
    }
}
