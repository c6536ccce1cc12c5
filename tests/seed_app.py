"""The README's examples, as written (only the import line differs).

Run as a plain script with no main guard: ``python seed_app.py default`` uses
the default manager (headless), ``python seed_app.py manual`` the manual
scheduler. It prints one JSON line with what the application saw.
"""

import json
import sys
import threading

MODE = sys.argv[1] if len(sys.argv) > 1 else "default"
if MODE == "manual":
    from tasker import task_mgr
    from tasker.schedulers import ManualScheduler

    SCHEDULER = ManualScheduler()
    task_mgr.initialize(main_thread_scheduler=SCHEDULER)

# --- example: "Executando uma Tarefa Limitada por I/O" ---------------------------
import asyncio

from tasker import task_mgr


# Sua função em segundo plano DEVE aceitar `context` como primeiro argumento.
async def minha_tarefa_io(context, url):
    context.set_message("Baixando...")
    # ... realiza download assíncrono ...
    await asyncio.sleep(2)  # Simula trabalho
    context.set_progress(1.0)
    context.set_message("Download concluído!")


# Inicie a tarefa a partir do seu código UI (ex.: clique de botão)
task_mgr.add_coroutine(minha_tarefa_io, "http://example.com", key="downloader")

# --- example: "Executando uma Tarefa Limitada por CPU" ----------------------------
import time


# Uma função regular, não async.
def minha_tarefa_cpu(context, iteracoes):
    context.set_total(iteracoes)
    context.set_message("Calculando...")
    for i in range(iteracoes):
        # ... realiza cálculo pesado ...
        time.sleep(0.1)  # Simula trabalho
        context.set_progress(i + 1)
    return "Resultado Final"


# Inicie a tarefa
task_mgr.run_process(minha_tarefa_cpu, 50, key="calculator")


# --- example: "Executando uma Tarefa em Thread" -----------------------------------
# Uma função regular que vai rodar em uma thread
def minha_tarefa_thread(context, duracao):
    context.set_message("Trabalhando na thread...")
    time.sleep(duracao)  # Simula trabalho
    context.set_progress(1.0)
    return "Tarefa thread concluída"


# Inicie a tarefa em uma thread
task_mgr.run_thread(minha_tarefa_thread, 2, key="thread_worker")


# --- example: "Atualizando a UI" (with stand-ins for the GTK widgets) ---------------
class Barra:
    def __init__(self):
        self.fractions = []

    def set_fraction(self, value):
        self.fractions.append(value)


class Rotulo:
    def __init__(self):
        self.texts = []

    def set_text(self, text):
        self.texts.append(text)


HANDLER_THREADS = set()


def setup_ui(barra_progresso, rotulo_status):
    # Este handler atualiza a UI com base no progresso geral
    def on_tasks_updated(sender, tasks, progress):
        HANDLER_THREADS.add(threading.current_thread().name)
        barra_progresso.set_fraction(progress)
        if tasks:
            rotulo_status.set_text(tasks[-1].get_message() or "Trabalhando...")
        else:
            rotulo_status.set_text("Ocioso")

    task_mgr.tasks_updated.connect(on_tasks_updated)


minha_barra_progresso, meu_rotulo = Barra(), Rotulo()
setup_ui(minha_barra_progresso, meu_rotulo)


# --- example: "Cancelamento" --------------------------------------------------------
def tarefa_cancelavel(context):
    while True:
        # Na sua função em segundo plano:
        if context.is_cancelled():
            print("Tarefa foi cancelada, parando trabalho.")
            return
        time.sleep(0.01)


task_mgr.run_thread(tarefa_cancelavel, key="cancelavel")
# No seu código UI:
task_mgr.cancel_task("calculator")
task_mgr.cancel_task("cancelavel")

# --- example: "Tratando Conclusão" ------------------------------------------------------
FINISHED = []


def on_task_finished(task):
    FINISHED.append((str(task.get_status()), threading.current_thread().name))
    if task.get_status() == "completed":
        print(f"Tarefa concluída com resultado: {task.result()}")
    elif task.get_status() == "failed":
        print(f"Tarefa falhou: {task._task_exception}")


task_mgr.run_process(minha_tarefa_cpu, 10, when_done=on_task_finished)

# --- check what the application saw ----------------------------------------------------
calculator = task_mgr.get_task("calculator")
if MODE == "manual":
    settled = SCHEDULER.pump_until(lambda: not task_mgr.has_tasks() and meu_rotulo.texts[-1:] == ["Ocioso"], 30)
    main_name = threading.current_thread().name
else:
    settled = task_mgr.wait_until_settled(30)
    main_name = "tasker-main"
print(
    json.dumps(
        {
            "settled": settled,
            "finished": FINISHED,
            "last_fraction": minha_barra_progresso.fractions[-1],
            "fractions_in_range": all(0.0 <= f <= 1.0 for f in minha_barra_progresso.fractions),
            "texts": meu_rotulo.texts,
            "handler_threads": sorted(HANDLER_THREADS),
            "main_name": main_name,
        }
    )
)
task_mgr.shutdown()
